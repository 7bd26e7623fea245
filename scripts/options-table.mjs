#!/usr/bin/env node
// Rewrites the configuration reference table in README.md from the options table in the code
// (npm run build first). A test fails when the two disagree, so run this after adding an option.
import { readFileSync, writeFileSync } from 'node:fs';
import { OPTIONS } from '../dist/config/options.js';

const esc = (text) => text.replace(/\|/g, '\\|');
const rows = OPTIONS.map(
  (o) => `| ${o.env.map((e) => `\`${e}\``).join(', ')} | \`--${o.flag}\` | ${o.kafkaSource === '-' ? '–' : esc(o.kafkaSource)} | \`${o.defaultText}\` | ${esc(o.description)} |`,
);
const table = ['| environment | flag | KafkaSource equivalent | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const updated = readme.replace(/<!-- options:start -->[\s\S]*<!-- options:end -->/, `<!-- options:start -->\n${table}\n<!-- options:end -->`);
writeFileSync(new URL('../README.md', import.meta.url), updated);
