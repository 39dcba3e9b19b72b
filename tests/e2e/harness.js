'use strict';

// What the e2e tests share: a thruster-broker started and stopped as a child process, waiting on a condition with
// a deadline, and a quiet logger for the clients.

const { spawn } = require('node:child_process');

const BROKER = process.env.THRUSTER_BROKER;
const quietLogger = { info() {}, warn() {}, debug() {}, error() {}, close() {} };

function sleep(ms) {
  return new Promise(resolve => setTimeout(resolve, ms));
}

// Resolves once `cond()` (sync or async) is truthy; rejects after `timeoutMs`.
async function waitFor(cond, timeoutMs, what, pollMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

// Starts thruster-broker (THRUSTER_BROKER) with its embedded name server on loopback, small store files and logs on
// stderr, plus `extra` flags; resolves once it printed where it listens:
//   { child, port, addr, namesrvPort, nameSrv, endpoints (the gRPC endpoint, when enabled), haPort(), log() }.
// A restart on the same listenPort must also pass haListenPort (the first run's haPort()): otherwise the broker
// takes listenPort + 1, which anything on the machine may hold by then.
function startBroker({ storeDir, listenPort = 0, namesrvPort = 0, haListenPort = 0, extra = [] }) {
  const args = [
    `--storePathRootDir=${storeDir}`,
    `--listenPort=${listenPort}`,
    `--namesrvListenPort=${namesrvPort}`,
    ...(haListenPort ? [ `--haListenPort=${haListenPort}` ] : []),
    '--bindAddress=127.0.0.1',
    '--brokerIP1=127.0.0.1',
    '--mappedFileSizeCommitLog=16777216',
    '--mappedFileSizeConsumeQueue=60000',
    '--maxHashSlotNum=5000',
    '--maxIndexNum=20000',
    '--logTarget=stderr',
    ...extra,
  ];
  const child = spawn(BROKER, args, { stdio: [ 'ignore', 'pipe', 'pipe' ] });
  let log = '';
  child.stderr.on('data', d => { log += d; });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`broker did not start:\n${out}${log}`)), 30000);
    child.on('exit', code => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code}:\n${out}${log}`));
    });
    child.stdout.on('data', d => {
      out += d;
      const line = /listening on 127\.0\.0\.1:(\d+)[^\n]*\n/.exec(out);
      if (!line) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const port = Number(line[1]);
      const ns = /name server on port (\d+)/.exec(line[0]);
      const grpc = /gRPC on port (\d+)/.exec(line[0]);
      resolve({
        child, port, addr: `127.0.0.1:${port}`,
        namesrvPort: ns ? Number(ns[1]) : undefined, nameSrv: ns ? `127.0.0.1:${ns[1]}` : undefined,
        endpoints: grpc ? `127.0.0.1:${grpc[1]}` : undefined,
        haPort: () => {
          const ha = /HA port (\d+)/.exec(log);
          return ha ? Number(ha[1]) : undefined;
        },
        log: () => log,
      });
    });
  });
}

// Signals the broker (SIGTERM by default) and resolves with its exit code once it is gone.
function stopBroker(broker, signal = 'SIGTERM') {
  return new Promise(resolve => {
    if (broker.child.exitCode !== null || broker.child.signalCode !== null) return resolve(broker.child.exitCode);
    broker.child.on('exit', code => resolve(code));
    broker.child.kill(signal);
  });
}

module.exports = { BROKER, quietLogger, sleep, waitFor, withTimeout, startBroker, stopBroker };
