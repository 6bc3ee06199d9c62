import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { autoSubmittedReason } from '../../src/domain/auto-submitted.js';

describe('auto-submitted detection', () => {
  const person = 'alice@example.com';
  it('flags every machine signal, with its reason', () => {
    const cases: [Record<string, string[]>, string | null, string][] = [
      [{ 'auto-submitted': ['auto-replied'] }, person, 'Auto-Submitted: auto-replied'],
      [
        { 'auto-submitted': ['Auto-Generated; owner-email="x@example.com"'] },
        person,
        'Auto-Submitted: auto-generated',
      ],
      [{ 'x-autoreply': ['yes'] }, person, 'X-Autoreply'],
      [{ 'x-autorespond': ['Vacation'] }, person, 'X-Autorespond'],
      [{ precedence: ['Bulk'] }, person, 'Precedence: bulk'],
      [{ precedence: ['junk'] }, person, 'Precedence: junk'],
      [{ precedence: ['list'] }, person, 'Precedence: list'],
      [{ 'return-path': ['< >'] }, person, 'empty Return-Path'],
      [{}, 'MAILER-DAEMON@mx.example.com', 'MAILER-DAEMON sender'],
      [{}, 'postmaster@example.com', 'POSTMASTER sender'],
    ];
    for (const [headers, from, reason] of cases)
      assert.equal(autoSubmittedReason(headers, from), reason, reason);
  });

  it('leaves people alone, including Auto-Submitted: no', () => {
    assert.equal(autoSubmittedReason({ 'auto-submitted': ['no'] }, person), null);
    assert.equal(
      autoSubmittedReason({ precedence: ['first-class'], 'return-path': ['<alice@example.com>'] }, person),
      null,
    );
    assert.equal(autoSubmittedReason({}, null), null);
  });
});
