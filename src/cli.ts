/** The `provflow` command line. Each command lives in src/commands; this file only wires commander. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { EXIT, exitQuietlyOnClosedPipes, exitWhenFlushed, reportAndExit } from './commands/common.ts';

const int =
  (name: string, min = 0) =>
  (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}`);
    return n;
  };
const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError(`${name} must be a positive number`);
  return n;
};
const profileOption = () =>
  new Option('--profile <profile>', 'simulator profile').choices(['fast', 'realistic', 'chaos']);

exitQuietlyOnClosedPipes();

const program = new Command('provflow')
  .description('Bulk Microsoft Entra app provisioning through Microsoft Graph, as durable background work')
  .showHelpAfterError()
  // Set before the commands are added, so each inherits it: a misspelt option or a missing argument
  // is bad input (exit 2, as every other bad input), not a run-time failure; help and version stay 0.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT.badInput));

program
  .command('demo')
  .description('run everything in one process against the Graph simulator: a generated batch to steady state')
  .option('--instances <n>', 'instances in the generated batch', int('--instances', 1), 25)
  .addOption(profileOption().default('realistic'))
  .option(
    '--time-scale <x>',
    'compress simulated time (quota windows, lag, cycles) by this factor',
    positive('--time-scale'),
    20,
  )
  .option('--seed <n>', 'simulator seed (same seed, same faults)', int('--seed'), 1)
  .option(
    '--quarantine-every <n>',
    'one instance in n is configured to end quarantined (0: none)',
    int('--quarantine-every'),
    20,
  )
  .option('--bad-every <n>', 'one instance in n gets credentials the app rejects (0: none)', int('--bad-every'), 0)
  .option('--timeout <seconds>', 'give up waiting after this long', int('--timeout', 1))
  .option('--board', 'also serve Bull Board on loopback while the demo runs')
  .option('--board-port <n>', 'port for --board', int('--board-port'))
  .option('--json', 'print one JSON summary line instead of tables')
  .option('--verbose', 'log at info level to stderr')
  .option('--all', 'list every instance in the final table (over 50, only those needing attention are listed)')
  .action(async (o) => {
    const { runDemo } = await import('./commands/demo.ts');
    process.exitCode = await runDemo({
      instances: o.instances,
      profile: o.profile,
      timeScale: o.timeScale,
      seed: o.seed,
      json: !!o.json,
      timeoutMs: o.timeout ? o.timeout * 1000 : undefined,
      quarantineEvery: o.quarantineEvery,
      badEvery: o.badEvery,
      board: !!o.board,
      boardPort: o.boardPort,
      verbose: !!o.verbose,
      all: !!o.all,
    });
  });

program
  .command('simulate')
  .description('run the Graph simulator; prints one JSON line with connection details')
  .option('--port <n>', 'port (0: any free port)', int('--port'), 0)
  .addOption(profileOption().default('realistic'))
  .option('--seed <n>', 'seed', int('--seed'), 1)
  .option('--time-scale <x>', 'compress simulated time by this factor', positive('--time-scale'), 1)
  .option('--control', 'serve the token-less /_sim/* control endpoints (stats, configure, reset) on loopback', false)
  .action(async (o) => {
    const { runSimulate } = await import('./dev/sim/cli-simulate.ts');
    const control = o.control === true;
    const sim = await runSimulate({ port: o.port, profile: o.profile, seed: o.seed, timeScale: o.timeScale, control });
    const stop = () => void sim.close().then(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });

program
  .command('enqueue <file>')
  .description(
    'validate a batch file (JSON or CSV) and enqueue it; prints the batch id (exit 2 on bad input, nothing enqueued)',
  )
  .option('--batch-id <id>', 'override the batch id')
  .option('--json', 'print the result as JSON')
  .action(async (file: string, o) => {
    const { runEnqueue } = await import('./commands/enqueue.ts');
    await runEnqueue(file, { batchId: o.batchId, json: !!o.json });
  });

program
  .command('plan <file>')
  .description('dry run: what would be created, adopted or skipped (reads Graph, writes nothing)')
  .option('--batch-id <id>', 'override the batch id')
  .option('--json', 'print the plan as JSON')
  .action(async (file: string, o) => {
    const { runPlan } = await import('./commands/plan.ts');
    process.exitCode = await runPlan(file, { batchId: o.batchId, json: !!o.json });
  });

program
  .command('status <batch>')
  .description('per-instance state, ids, quarantine reason, log failure counts')
  .option('--json', 'machine-readable output')
  .option('--watch', 'refresh until every instance has ended')
  .option('--wide', 'show Graph ids too')
  .option('--all', 'list every instance (over 50, only those needing attention are listed)')
  .option('--tenant <name>', "only this tenant's instances (a name from the tenants file)")
  .action(async (batch: string, o) => {
    const { runStatus } = await import('./commands/status.ts');
    const flags = { json: !!o.json, watch: !!o.watch, wide: !!o.wide, all: !!o.all, tenant: o.tenant as string };
    process.exitCode = await runStatus(batch, flags);
  });

program
  .command('doctor')
  .description('check configuration, Redis, token permissions, Graph, clock and secret key; a fix for each failure')
  .option('--json', 'print { checks: [{ name, ok, detail, fix }] }')
  .action(async (o) => {
    process.exitCode = await (await import('./commands/doctor.ts')).runDoctor({ json: !!o.json });
  });

program
  .command('restart <batch>')
  .description('restart quarantined provisioning jobs (Graph restart with a reset scope) and watch them again')
  .option('--instance <name>', 'only this instance (display name)')
  .addOption(
    new Option('--scope <scope>', 'resetScope')
      .choices(['QuarantineState', 'Full', 'ForceDeletes', 'Watermark', 'Escrows'])
      .default('QuarantineState'),
  )
  .option('--confirm', 'needed with --scope ForceDeletes (which lets staged deletes through)')
  .action(async (batch: string, o) => {
    const { runRestart } = await import('./commands/restart.ts');
    process.exitCode = await runRestart(batch, { instance: o.instance, scope: o.scope, confirm: !!o.confirm });
  });

const waitOptions = (c: Command) =>
  c
    .option('--wait', 'wait until every instance is done, print the outcome (exit 1 if any failed)')
    .option('--timeout <seconds>', 'with --wait: give up waiting after this long', int('--timeout', 1), 600)
    .option('--json', 'print JSON instead of a table');

waitOptions(
  program
    .command('rotate <batch> <file>')
    .description('new credentials for started instances: validate, save the complete set, restart if quarantined'),
).action(async (batch: string, file: string, o) => {
  const { runRotate } = await import('./commands/rotate.ts');
  process.exitCode = await runRotate(batch, file, { json: !!o.json, wait: !!o.wait, timeoutMs: o.timeout * 1000 });
});

waitOptions(
  program
    .command('verify <batch>')
    .description("check that each started instance's saved credentials still work (results in status and webhooks)")
    .option('--instance <name>', 'only this instance (display name)'),
).action(async (batch: string, o) => {
  const { runVerify } = await import('./commands/verify.ts');
  const wait = !!o.wait;
  process.exitCode = await runVerify(batch, {
    instance: o.instance,
    json: !!o.json,
    wait,
    timeoutMs: o.timeout * 1000,
  });
});

waitOptions(
  program
    .command('teardown <batch>')
    .description('pause and delete jobs, delete applications provflow created or adopted (dry run without --yes)')
    .option('--instance <name>', 'only this instance (display name)')
    .option('--dry-run', 'print what would be done and change nothing (the default without --yes)')
    .option('--yes', 'really tear down')
    .option('--purge', 'also remove the applications from deleted items (permanent)'),
).action(async (batch: string, o) => {
  const { runTeardown } = await import('./commands/teardown.ts');
  process.exitCode = await runTeardown(batch, {
    instance: o.instance,
    dryRun: !!o.dryRun,
    yes: !!o.yes,
    purge: !!o.purge,
    json: !!o.json,
    wait: !!o.wait,
    timeoutMs: o.timeout * 1000,
  });
});

program
  .command('export <batch>')
  .description('write one deterministic JSON file per instance (job, settings, saved key names; no credential values)')
  .option('--out <dir>', 'directory for the files; required')
  .option('--json', 'print the list of files as JSON')
  .action(async (batch: string, o) => {
    const { runExport } = await import('./commands/export.ts');
    process.exitCode = await runExport(batch, { out: o.out, json: !!o.json });
  });

program
  .command('diff <batch> <file>')
  .description('compare the batch file with what Graph holds (exit 3 when something drifted)')
  .option('--json', 'print one JSON object: checked, drifted, instances[] with their differences')
  .action(async (batch: string, file: string, o) => {
    const { runDiff } = await import('./commands/diff.ts');
    process.exitCode = await runDiff(batch, file, { json: !!o.json });
  });

program
  .command('deletions <batch>')
  .description('list the staged deletes of a job quarantined by the accidental-deletion threshold')
  .option('--instance <name>', 'the instance (display name); required')
  .option('--json', 'print JSON instead of a table')
  .action(async (batch: string, o) => {
    const { runDeletions } = await import('./commands/deletions.ts');
    process.exitCode = await runDeletions(batch, { instance: o.instance, json: !!o.json });
  });

program
  .command('worker')
  .description('run the steps worker (long-running)')
  .option('--concurrency <n>', 'jobs processed at once', int('--concurrency', 1))
  .action(async (o) => {
    const { runWorker } = await import('./commands/processes.ts');
    await runWorker({ concurrency: o.concurrency });
  });

program
  .command('poller')
  .description('run the poller that watches started jobs (long-running)')
  .option('--concurrency <n>', 'watch jobs processed at once', int('--concurrency', 1))
  .action(async (o) => {
    const { runPoller } = await import('./commands/processes.ts');
    await runPoller({ concurrency: o.concurrency });
  });

program
  .command('board')
  .description('serve Bull Board, /healthz and /metrics (authentication on by default)')
  .option('--port <n>', 'port', int('--port'), 3000)
  .option('--host <host>', 'interface to bind (default BOARD_HOST, else 127.0.0.1; 0.0.0.0 exposes it: use TLS)')
  .option('--insecure-no-auth', 'no authentication (only allowed on loopback)')
  .option('--allow-retries', 'let operators retry and promote jobs')
  .action(async (o) => {
    const { runBoardCommand } = await import('./commands/board.ts');
    await runBoardCommand({
      port: o.port,
      host: o.host,
      insecureNoAuth: !!o.insecureNoAuth,
      allowRetries: !!o.allowRetries,
    });
  });

/** Commands that end by themselves: exit once done and flushed, whatever handles a library left open. */
const ONE_SHOT = new Set([
  'demo',
  'enqueue',
  'plan',
  'status',
  'restart',
  'doctor',
  'rotate',
  'verify',
  'teardown',
  'deletions',
  'export',
  'diff',
]);

await program.parseAsync(process.argv).catch(reportAndExit);
if (ONE_SHOT.has(program.args[0] ?? '')) await exitWhenFlushed(Number(process.exitCode ?? 0));
