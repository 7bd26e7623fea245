/**
 * A small, real intent classifier for the demo sink: multinomial naive Bayes with Laplace
 * (add-one) smoothing over lowercase word tokens, trained once at module load from
 * {@link CORPUS}. It stands in for the article's BERT intent-detection service.
 *
 * Features: lowercase word tokens, split on anything that is not a letter or digit, with a small
 * stop-word list removed, numbers (digits and number words) folded into one `#num` token, and a
 * crude suffix stemmer (`-s`, `-ing`, `-ed`).
 *
 * Fallback: when the text has no token the model has seen in training (empty text, gibberish,
 * only stop words), `classify` returns {@link UNKNOWN_INTENT} (`"Unknown"`) with confidence 0
 * and no scores, rather than guessing the most frequent label.
 *
 * Deterministic: same input, same output; exact score ties go to the intent listed first in
 * {@link INTENT_LABELS}.
 */
import { CORPUS, CORPUS_INTENTS, type LabelledUtterance } from './corpus.js';

/** Returned when no token of the text is known to the model. Not one of {@link INTENT_LABELS}. */
export const UNKNOWN_INTENT = 'Unknown';

/** The intents the classifier can answer (besides {@link UNKNOWN_INTENT}), in tie-break order. */
export const INTENT_LABELS: readonly string[] = CORPUS_INTENTS;

export interface Classification {
  /** Best intent, or {@link UNKNOWN_INTENT}. */
  intent: string;
  /** Posterior probability of `intent` under the model, in [0, 1]; 0 for {@link UNKNOWN_INTENT}. */
  confidence: number;
  /** Posterior probability of every label (sums to 1); absent for {@link UNKNOWN_INTENT}. */
  scores?: Readonly<Record<string, number>>;
}

const STOP_WORDS = new Set([
  'a',
  'an',
  'the',
  'to',
  'for',
  'at',
  'in',
  'on',
  'of',
  'by',
  'from',
  'with',
  'about',
  'into',
  'my',
  'me',
  'i',
  'im',
  'you',
  'your',
  'it',
  'its',
  'is',
  'are',
  'am',
  'be',
  'was',
  'this',
  'that',
  'and',
  'or',
  'please',
  'can',
  'could',
  'would',
  'some',
  'do',
  'does',
  'there',
  'so',
  'just',
  'now',
  'up',
  'what',
  'how',
  'which',
  'when',
  'where',
  'any',
  'all',
  'want',
  'need',
  'like',
  'get',
]);

const NUMBER_WORDS = new Set([
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
  'twenty',
  'thirty',
  'forty',
  'fifty',
  'sixty',
  'seventy',
  'eighty',
  'ninety',
  'hundred',
]);

/** Words the stemmer must leave alone (a trailing `s` that is not a plural, mostly). */
const STEM_EXCEPTIONS = new Set(['news', 'series', 'this', 'yes', 'bus', 'thanks', 'always', 'is', 'was', 'has', 'does']);

const NUMBER_TOKEN = '#num';

function stem(word: string): string {
  if (STEM_EXCEPTIONS.has(word)) return word;
  let w = word;
  if (w.length > 5 && w.endsWith('ing')) w = undouble(w.slice(0, -3));
  else if (w.length > 4 && w.endsWith('ed')) w = undouble(w.slice(0, -2));
  else if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') && !w.endsWith('us')) w = w.slice(0, -1);
  return w;
}

/** `runn` → `run`, `shopp` → `shop` (but keep `ll`, `ss`, `zz`, as in `call`, `miss`). */
function undouble(w: string): string {
  const n = w.length;
  if (n >= 3 && w[n - 1] === w[n - 2] && !'aeioulsz'.includes(w[n - 1] as string)) return w.slice(0, -1);
  return w;
}

/** The features the model sees for a text; exported for tests and debugging. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  const words = text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // strip accents: café → cafe
    .replace(/['’]s\b/g, '') // today's → today
    .replace(/['’]/g, '') // don't → dont
    .replace(/(\d)([a-z])/g, '$1 $2') // 7am → 7 am
    .replace(/([a-z])(\d)/g, '$1 $2')
    .split(/[^a-z0-9#]+/);
  for (const word of words) {
    if (word === '' || STOP_WORDS.has(word)) continue;
    if (/^\d+$/.test(word) || NUMBER_WORDS.has(word)) {
      out.push(NUMBER_TOKEN);
      continue;
    }
    out.push(stem(word));
  }
  return out;
}

interface Model {
  labels: readonly string[];
  logPrior: Map<string, number>;
  /** label → token → log P(token | label), smoothed. */
  logLikelihood: Map<string, Map<string, number>>;
  /** label → log P(unseen-in-this-label token | label). */
  logUnseen: Map<string, number>;
  vocabulary: Set<string>;
}

/** Trains a multinomial naive Bayes model with add-`alpha` smoothing. */
function train(corpus: readonly LabelledUtterance[], labels: readonly string[], alpha = 1): Model {
  const docCount = new Map<string, number>();
  const tokenCounts = new Map<string, Map<string, number>>();
  const tokenTotals = new Map<string, number>();
  const vocabulary = new Set<string>();
  for (const label of labels) {
    docCount.set(label, 0);
    tokenCounts.set(label, new Map());
    tokenTotals.set(label, 0);
  }
  for (const { text, intent } of corpus) {
    const counts = tokenCounts.get(intent);
    if (!counts) throw new Error(`corpus intent ${intent} is not a label`);
    docCount.set(intent, (docCount.get(intent) ?? 0) + 1);
    for (const token of tokenize(text)) {
      vocabulary.add(token);
      counts.set(token, (counts.get(token) ?? 0) + 1);
      tokenTotals.set(intent, (tokenTotals.get(intent) ?? 0) + 1);
    }
  }
  const v = vocabulary.size;
  const logPrior = new Map<string, number>();
  const logLikelihood = new Map<string, Map<string, number>>();
  const logUnseen = new Map<string, number>();
  for (const label of labels) {
    logPrior.set(label, Math.log((docCount.get(label) ?? 0) / corpus.length));
    const denominator = (tokenTotals.get(label) ?? 0) + alpha * v;
    const table = new Map<string, number>();
    for (const [token, count] of tokenCounts.get(label) ?? []) table.set(token, Math.log((count + alpha) / denominator));
    logLikelihood.set(label, table);
    logUnseen.set(label, Math.log(alpha / denominator));
  }
  return { labels, logPrior, logLikelihood, logUnseen, vocabulary };
}

const MODEL = train(CORPUS, INTENT_LABELS);

/** Classifies `text` into one of {@link INTENT_LABELS}, or {@link UNKNOWN_INTENT} (see module doc). */
export function classify(text: string): Classification {
  const tokens = tokenize(text).filter((t) => MODEL.vocabulary.has(t));
  if (tokens.length === 0) return { intent: UNKNOWN_INTENT, confidence: 0 };

  const logScores: number[] = MODEL.labels.map((label) => {
    const table = MODEL.logLikelihood.get(label) as Map<string, number>;
    const unseen = MODEL.logUnseen.get(label) as number;
    let score = MODEL.logPrior.get(label) as number;
    for (const token of tokens) score += table.get(token) ?? unseen;
    return score;
  });

  // Softmax over log scores, shifted by the maximum for numerical stability.
  let best = 0;
  for (let i = 1; i < logScores.length; i++) if ((logScores[i] as number) > (logScores[best] as number)) best = i;
  const max = logScores[best] as number;
  const exps = logScores.map((s) => Math.exp(s - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  const scores: Record<string, number> = {};
  MODEL.labels.forEach((label, i) => {
    scores[label] = (exps[i] as number) / sum;
  });
  const intent = MODEL.labels[best] as string;
  return { intent, confidence: scores[intent] as number, scores };
}
