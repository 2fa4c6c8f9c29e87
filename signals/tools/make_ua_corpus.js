#!/usr/bin/env node
// Builds a labelled User-Agent corpus ("LABEL<TAB>UA" lines) for signals/tools/ua_accuracy
// from public npm packages unpacked in a directory (default /tmp/uacorpus):
//   npm pack user-agents crawler-user-agents   (then tar xzf each into DIR/<name>/)
// user-agents: real browser UAs with a deviceCategory (desktop/mobile/tablet);
// crawler-user-agents: real crawler UAs ("instances"). Nothing of them is kept in the repo.
const fs = require('fs');
const path = require('path');
const dir = process.argv[2] || '/tmp/uacorpus';
const out = [];
const clean = (s) => s.replace(/[\t\r\n]/g, ' ');
const ua = path.join(dir, 'user-agents/package/dist/user-agents.json');
if (fs.existsSync(ua)) {
  const map = { desktop: 'desktop', mobile: 'smartphone', tablet: 'tablet' };
  for (const x of JSON.parse(fs.readFileSync(ua, 'utf8'))) {
    if (map[x.deviceCategory]) out.push(map[x.deviceCategory] + '\t' + clean(x.userAgent));
  }
}
const bots = path.join(dir, 'crawler-user-agents/package/crawler-user-agents.json');
if (fs.existsSync(bots)) {
  for (const x of JSON.parse(fs.readFileSync(bots, 'utf8')))
    for (const i of x.instances || []) if (i.trim()) out.push('bot\t' + clean(i));
}
process.stdout.write(out.join('\n') + '\n');
