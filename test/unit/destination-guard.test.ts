import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DestinationGuard } from '../../src/adapters/http/destination-guard.js';
import { isCidr } from '../../src/domain/networks.js';
import { decideDelivery } from '../../src/domain/retry.js';

describe('destination guard (SSRF protection)', () => {
  const guard = new DestinationGuard(['10.20.0.0/16']);

  it('refuses loopback, private, link-local, metadata, unspecified and multicast addresses', () => {
    for (const address of [
      '127.0.0.1',
      '127.9.9.9',
      '10.0.0.5',
      '172.16.4.4',
      '192.168.1.1',
      '169.254.169.254', // EC2 instance metadata
      '169.254.170.2', // ECS task credentials
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.251',
      '::1',
      '::',
      'fd00:ec2::254', // EC2 metadata over IPv6
      'fe80::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:169.254.169.254',
      '::ffff:7f00:1', // IPv4-mapped, hex notation
      '::127.0.0.1', // IPv4-compatible
      '::a9fe:a9fe', // IPv4-compatible 169.254.169.254
      '64:ff9b::127.0.0.1', // NAT64 well-known prefix
      '64:ff9b::a9fe:aa02', // NAT64 169.254.170.2
      '64:ff9b::10.0.0.1',
      '64:ff9b:1::1', // local-use NAT64
      '2002:7f00:1::', // 6to4 around 127.0.0.1
      '2002:a9fe:a9fe::1', // 6to4 around the metadata endpoint
    ]) {
      assert.equal(guard.permits(address), false, address);
    }
  });

  it('permits public addresses and allowlisted internal ranges', () => {
    for (const address of [
      '93.184.216.34',
      '8.8.8.8',
      '2606:4700:4700::1111',
      '10.20.3.4',
      '64:ff9b::93.184.216.34', // NAT64 to a public address
      '::ffff:8.8.8.8',
      '2002:5db8:d822::1', // 6to4 around a public address
    ]) {
      assert.equal(guard.permits(address), true, address);
    }
    assert.equal(guard.permits('10.21.0.1'), false, 'only the allowlisted range');
  });

  it('checks IP-literal URLs before any connection', () => {
    assert.throws(() => guard.checkUrl('http://169.254.169.254/latest/meta-data/'), /SSRF protection/);
    assert.throws(() => guard.checkUrl('http://[::1]:8080/hook'), /SSRF protection/);
    assert.doesNotThrow(() => guard.checkUrl('https://hooks.example.com/email'));
  });

  it('turns a refused destination into a dead letter at once, not a retry', () => {
    assert.equal(
      decideDelivery({ error: 'refused by the guard', permanent: true }, 1, [5, 300]).kind,
      'dead-letter',
    );
  });
});

describe('CIDR ranges', () => {
  it('accepts addresses and ranges, rejects the rest', () => {
    for (const ok of ['10.0.0.0/8', '10.1.2.3', 'fd00::/8', '0.0.0.0/0']) assert.equal(isCidr(ok), true, ok);
    for (const bad of ['10.0.0.0/33', 'fd00::/129', 'example.com', '10.0.0.0/x', '10.0.0.0/8/1', '']) {
      assert.equal(isCidr(bad), false, bad);
    }
  });
});
