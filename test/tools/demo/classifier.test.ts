import { describe, it, expect } from 'vitest';
import { classify, INTENT_LABELS, UNKNOWN_INTENT, tokenize } from '../../../tools/demo/classifier.js';
import { CORPUS } from '../../../tools/demo/corpus.js';

/** Queries that are not in the corpus; the first is the article's `GET /predict?query=music`. */
const QUERIES: ReadonlyArray<[query: string, intent: string]> = [
  ['music', 'PlayMusic'],
  ['play some jazz', 'PlayMusic'],
  ['put on some beyonce', 'PlayMusic'],
  ['will it rain tomorrow in paris', 'GetWeather'],
  ['is it going to be hot in lisbon on sunday', 'GetWeather'],
  ['book a table for two at an italian place', 'BookRestaurant'],
  ['reserve a table at a chinese restaurant tomorrow night', 'BookRestaurant'],
  ['wake me up at 7am', 'SetAlarm'],
  ['set an alarm for 6:45', 'SetAlarm'],
  ['add this track to my running playlist', 'AddToPlaylist'],
  ['give the hobbit five stars', 'RateBook'],
  ['rate the hunger games three out of five', 'RateBook'],
  ['search for the tv show breaking bad', 'SearchCreativeWork'],
  ['find the movie schedule at the nearest cinema', 'SearchScreeningEvent'],
  ['what time is the new pixar movie playing', 'SearchScreeningEvent'],
  ['text mom that i am running late', 'SendMessage'],
  ['i need a flight from boston to denver on friday', 'BookFlight'],
  ['fly me to lisbon next tuesday', 'BookFlight'],
  ['hello, how are you doing?', 'Greeting'],
  ['see you next week, bye', 'Goodbye'],
  ["what are today's top headlines", 'GetNews'],
  ['switch off the kitchen lights', 'ControlLights'],
  ['how much money is in my savings account', 'CheckBalance'],
];

const normalise = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
const corpusTexts = new Set(CORPUS.map((u) => normalise(u.text)));

describe('corpus', () => {
  it('has about 15 intents with 10 to 20 utterances each, and no duplicates', () => {
    expect(INTENT_LABELS.length).toBeGreaterThanOrEqual(15);
    for (const label of INTENT_LABELS) {
      const n = CORPUS.filter((u) => u.intent === label).length;
      expect(n, label).toBeGreaterThanOrEqual(10);
      expect(n, label).toBeLessThanOrEqual(20);
    }
    expect(corpusTexts.size).toBe(CORPUS.length);
  });

  it('contains the SNIPS/ATIS-style labels the demo relies on', () => {
    for (const label of [
      'PlayMusic',
      'GetWeather',
      'BookRestaurant',
      'AddToPlaylist',
      'RateBook',
      'SearchCreativeWork',
      'SearchScreeningEvent',
      'SetAlarm',
      'SendMessage',
      'BookFlight',
      'Greeting',
    ]) {
      expect(INTENT_LABELS).toContain(label);
    }
  });
});

describe('classify', () => {
  it.each(QUERIES)('%j → %s (and is not a corpus utterance)', (query, intent) => {
    expect(corpusTexts.has(normalise(query))).toBe(false);
    const result = classify(query);
    expect(result.intent).toBe(intent);
    expect(result.confidence).toBeGreaterThan(0);
    expect(result.confidence).toBeLessThanOrEqual(1);
    expect(result.confidence).toBe(Math.max(...Object.values(result.scores ?? {})));
  });

  it('answers the article query `music` with PlayMusic', () => {
    expect(classify('music').intent).toBe('PlayMusic');
  });

  it('has posterior scores over every label that sum to 1', () => {
    const { scores } = classify('play some jazz');
    expect(Object.keys(scores ?? {}).sort()).toEqual([...INTENT_LABELS].sort());
    const total = Object.values(scores ?? {}).reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(1, 9);
  });

  it('labels most of its own training corpus correctly', () => {
    const right = CORPUS.filter((u) => classify(u.text).intent === u.intent).length;
    expect(right / CORPUS.length).toBeGreaterThan(0.95);
  });

  it.each(['', '   ', 'xyzzy qwerty', 'the a of', '!!!'])('falls back to Unknown for %j', (text) => {
    expect(classify(text)).toEqual({ intent: UNKNOWN_INTENT, confidence: 0 });
    expect(INTENT_LABELS).not.toContain(UNKNOWN_INTENT);
  });

  it('is deterministic', () => {
    for (const [query] of QUERIES) expect(classify(query)).toEqual(classify(query));
  });

  it('tokenizes: lowercase, stop words out, numbers folded, simple stemming', () => {
    expect(tokenize('Wake me up at 7am')).toEqual(['wake', '#num']);
    expect(tokenize('Playing the Songs')).toEqual(['play', 'song']);
    expect(tokenize("today's news")).toEqual(['today', 'news']);
  });
});
