import { OPTIONS } from './schema.js';

/**
 * The README's configuration reference table, from the schema. scripts/options-table.mjs writes it
 * between `<!-- options:start -->` and `<!-- options:end -->`; test/docs/readme.test.ts checks it is there.
 */
export function optionsTable(): string {
  const esc = (text: string) => text.replace(/\|/g, '\\|');
  const rows = OPTIONS.map(
    (o) =>
      `| ${o.env.map((e) => `\`${e}\``).join(', ')} | \`--${o.flag}\` | ${o.kafkaSource === undefined ? '–' : esc(o.kafkaSource)} | \`${o.defaultText}\` | ${esc(o.description)} |`,
  );
  return ['| environment | flag | KafkaSource equivalent | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}
