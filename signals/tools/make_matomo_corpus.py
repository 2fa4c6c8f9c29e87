#!/usr/bin/env python3
"""Builds a labelled User-Agent corpus ("LABEL<TAB>UA" lines) for signals/tools/ua_accuracy
from the test fixtures of Matomo's device-detector (Tests/fixtures/*.yml of a checkout of
github.com/matomo-org/device-detector; LGPL, nothing of it is kept in this repository).

    python3 signals/tools/make_matomo_corpus.py DIR/Tests/fixtures/tv*.yml > /tmp/tv.tsv

Each fixture entry has a user_agent and either a device type or a bot block. Their types map
onto Tailor's classes; types Tailor has no class for (smart speaker, smart display,
peripheral, camera, portable media player, feed readers without a device...) are skipped and
counted on stderr. Needs PyYAML (Debian: python3-yaml).
"""
import collections
import sys

import yaml

CLASSES = {
    'desktop': 'desktop', 'notebook': 'desktop',
    'smartphone': 'smartphone', 'phablet': 'smartphone', 'feature phone': 'smartphone',
    'tablet': 'tablet', 'tv': 'tv', 'console': 'console', 'wearable': 'wearable',
    'car browser': 'car',
}


def main(paths):
    seen, kept, skipped = set(), collections.Counter(), collections.Counter()
    out = sys.stdout
    for path in paths:
        with open(path, encoding='utf-8') as f:
            entries = yaml.safe_load(f) or []
        for e in entries:
            ua = e.get('user_agent') if isinstance(e, dict) else None
            if not isinstance(ua, str) or not ua.strip():
                continue
            if e.get('bot'):
                label = 'bot'
            else:
                device = e.get('device') or {}
                label = CLASSES.get(str(device.get('type') or '').strip().lower())
            if label is None:
                skipped[str((e.get('device') or {}).get('type') or 'none')] += 1
                continue
            ua = ua.replace('\t', ' ').replace('\n', ' ').replace('\r', ' ')
            if ua in seen:
                continue
            seen.add(ua)
            kept[label] += 1
            out.write(f'{label}\t{ua}\n')
    print('kept', dict(kept), 'skipped', dict(skipped), file=sys.stderr)


if __name__ == '__main__':
    if len(sys.argv) < 2:
        sys.exit('usage: make_matomo_corpus.py FIXTURE.yml...')
    main(sys.argv[1:])
