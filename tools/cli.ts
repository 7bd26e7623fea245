#!/usr/bin/env node
/**
 * The developer tools' entry: the demo, the demo sink, the local Kafka broker and the load generator. They are not the
 * product: they compile into build/ (`npm run build:tools`), never into dist/, so neither the npm
 * package nor the runtime image carries them. They use the product only through src/index.ts.
 */
import { runCommandLine } from '../src/index.js';

const USAGE = `usage: node build/tools/cli.js <command> [options]

commands:
  demo        local broker + demo sink + dispatcher + a short load, with live progress (npm start)
  demo-sink   the demo inference service: GET|POST /predict?query=... answers an intent label (npm run demo-sink)
  kafka       a local Apache Kafka broker without Docker: start | stop | status | logs (npm run kafka)
  simulate    a scenario on the real broker and dispatcher against an emulated Knative Service: timeline and chart (npm run simulate)
  loadgen     the article's producer: burst, constant, ramp or step loads to a topic (npm run loadgen)
  dashboard   writes the Grafana dashboard deploy/grafana/dashboards/kafka-dispatch.json from code (npm run dashboard)

run 'node build/tools/cli.js <command> --help' for the options of a command (npm start -- --help,
npm run demo-sink -- --help, npm run kafka -- --help, npm run loadgen -- --help).`;

runCommandLine({
  name: 'kafka-dispatch tools',
  usage: USAGE,
  commands: {
    demo: async (argv) => (await import('./commands/demo.js')).demoCommand(argv),
    'demo-sink': async (argv) => (await import('./commands/demo-sink.js')).demoSinkCommand(argv),
    kafka: async (argv) => (await import('./commands/kafka.js')).kafkaCommand(argv),
    simulate: async (argv) => (await import('./commands/simulate.js')).simulateCommand(argv),
    loadgen: async (argv) => (await import('./commands/loadgen.js')).loadgenCommand(argv),
    dashboard: async (argv) => (await import('./commands/dashboard.js')).dashboardCommand(argv),
  },
});
