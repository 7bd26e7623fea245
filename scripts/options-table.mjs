#!/usr/bin/env node
// Rewrites the configuration reference table in README.md from the configuration schema
// (src/config/schema.ts; npm run build first). A test fails when the two disagree, so run this after
// adding or changing an option.
import { readFileSync, writeFileSync } from 'node:fs';
import { optionsTable } from '../dist/config/reference.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const updated = readme.replace(
  /<!-- options:start -->[\s\S]*<!-- options:end -->/,
  `<!-- options:start -->\n${optionsTable()}\n<!-- options:end -->`,
);
writeFileSync(new URL('../README.md', import.meta.url), updated);
