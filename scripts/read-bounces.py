#!/usr/bin/env python3
"""An independent reading of the bounce corpus in test/fixtures/bounces, for test/unit/bounces.test.ts.

Python's email package (code idlehook did not write) parses each message/delivery-status part into its field
groups; this script writes what they say per recipient to python-reading.json. It does not descend into a
returned message (a bounce of a bounce carries its own, older report). Run: python3 scripts/read-bounces.py
"""
import email
import json
import re
from email import policy
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / 'test' / 'fixtures' / 'bounces'
REPORTS = ('message/delivery-status', 'message/global-delivery-status')
OPAQUE = ('message/rfc822', 'message/global') + REPORTS


def typed(value):
    """'rfc822; <a@b>' -> 'a@b'"""
    if value is None:
        return None
    text = str(value).split(';', 1)[-1].strip().strip('<>').strip()
    return text or None


def walk(part):
    yield part
    if part.is_multipart() and part.get_content_type() not in OPAQUE:
        for sub in part.get_payload():
            yield from walk(sub)


def reading(path):
    with open(path, 'rb') as f:
        message = email.message_from_binary_file(f, policy=policy.compat32)
    recipients = []
    for part in walk(message):
        if part.get_content_type() not in REPORTS or not isinstance(part.get_payload(), list):
            continue
        for block in part.get_payload():
            recipient = typed(block.get('Final-Recipient')) or typed(block.get('Original-Recipient'))
            if recipient is None:
                continue
            status = re.search(r'\b[245]\.\d{1,3}\.\d{1,3}\b', block.get('Status') or '')
            diagnostic = block.get('Diagnostic-Code')
            if diagnostic is not None and ';' in diagnostic:
                diagnostic = diagnostic.split(';', 1)[1]
            recipients.append({
                'recipient': recipient,
                'action': (block.get('Action') or '').strip().lower() or None,
                'status': status.group(0) if status else None,
                'diagnosticCode': re.sub(r'\s+', ' ', diagnostic or '').strip() or None,
            })
    return recipients


readings = {}
for path in sorted(FIXTURES.glob('*.eml')):
    recipients = reading(path)
    if recipients:
        readings[path.name] = recipients
(FIXTURES / 'python-reading.json').write_text(json.dumps(readings, indent=2) + '\n')
print(f'{len(readings)} delivery status reports read')
