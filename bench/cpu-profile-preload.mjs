/**
 * CPU profiles of the steps worker and the poller while a benchmark runs. Node refuses
 * `--cpu-prof` in NODE_OPTIONS, and the benchmark spawns those processes itself, so this preload
 * starts the inspector's profiler instead and writes a `.cpuprofile` (Chrome DevTools, speedscope)
 * when the process is told to stop:
 *
 *   NODE_OPTIONS="--import $PWD/bench/cpu-profile-preload.mjs" PROVFLOW_CPU_PROFILE_DIR=/tmp/prof \
 *     npm run bench -- --tenants 8 --instances 400
 *
 * Other node processes (npm, the benchmark, the simulator) load it and do nothing. Profiling costs
 * CPU itself: compare per-instance figures from runs without it.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

const dir = process.env.PROVFLOW_CPU_PROFILE_DIR;
const script = process.argv[1] ?? '';
const kind = /workers[/\\](steps|poller)\.ts$/.exec(script)?.[1];
if (dir && kind) {
  const session = new Session();
  session.connect();
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.enable');
  session.post('Profiler.start');
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    // The in-thread session answers synchronously, so this completes before the process exits.
    session.post('Profiler.stop', (err, res) => {
      if (err) return;
      writeFileSync(path.join(dir, `${kind}-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  };
  process.prependListener('SIGTERM', write);
  process.prependListener('SIGINT', write);
  process.once('exit', write);
}
