'use strict';

// TLS and plain ACL on thruster-broker's gRPC port, and the expiry of a silent client's settings, with the real
// Node.js 5.x client rocketmq-client-nodejs. Run by tests/e2e/run_e2e.sh (CTest `e2e_grpc_security`):
//   THRUSTER_BROKER=build/asan/apps/thruster-broker node --test tests/e2e/grpc_security.test.js
// One broker serves every test: tls.server.mode=enforcing with a certificate made here, aclEnable with the
// accounts below, channelExpiredTimeout 2 s.

const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http2 = require('node:http2');
const tls = require('node:tls');
const os = require('node:os');
const path = require('node:path');

// The client checks the broker's certificate against the roots grpc-js reads, when it is loaded, from
// GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: the certificate is made before the client is required.
// Two certificates are made: the broker starts with the first; the reload test later puts the second in its place.
// Both keys are encrypted (tls.server.keyPassword), and the client trusts both.
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'thruster-grpc-sec-'));
const CERT = path.join(TMP, 'cert.pem');
const KEY = path.join(TMP, 'key.pem');
const NEXT_CERT = path.join(TMP, 'next-cert.pem');
const NEXT_KEY = path.join(TMP, 'next-key.pem');
const ROOTS = path.join(TMP, 'roots.pem');
const KEY_PASSWORD = 'grpc-key-password';
const FIRST_SERIAL = '1A01';
const NEXT_SERIAL = '1A02';
// A certificate and a key that do not belong together (each one's partner is thrown away).
const ODD_CERT = path.join(TMP, 'odd-cert.pem');
const ODD_KEY = path.join(TMP, 'odd-key.pem');
for (const [ cert, key, serial ] of [ [ CERT, KEY, FIRST_SERIAL ], [ NEXT_CERT, NEXT_KEY, NEXT_SERIAL ],
  [ ODD_CERT, path.join(TMP, 'unused-key.pem'), '1A03' ], [ path.join(TMP, 'unused-cert.pem'), ODD_KEY, '1A04' ] ]) {
  execFileSync('openssl', [ 'req', '-x509', '-newkey', 'rsa:2048', '-passout', `pass:${KEY_PASSWORD}`, '-keyout', key,
    '-out', cert, '-days', '2', '-set_serial', `0x${serial}`, '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost' ], { stdio: 'ignore' });
}
fs.writeFileSync(ROOTS, fs.readFileSync(CERT, 'utf8') + fs.readFileSync(NEXT_CERT, 'utf8'));
process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH = ROOTS;

const { Producer, SimpleConsumer } = require('rocketmq-client-nodejs');
const { RpcClient } = require('rocketmq-client-nodejs/dist/client/RpcClient');
const { Endpoints } = require('rocketmq-client-nodejs/dist/route/Endpoints');
const pb = require('rocketmq-client-nodejs/proto/apache/rocketmq/v2/service_pb');
const def = require('rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition_pb');
const { BROKER, quietLogger, startBroker, stopBroker } = require('./harness');

const RUN_ID = `${process.pid}x${Date.now() % 100000}`;
const TOPIC = `GrpcSecure${RUN_ID}`;
const READ_ONLY_TOPIC = `GrpcReadOnly${RUN_ID}`;
const GROUP = `GrpcSecureGroup${RUN_ID}`;
const KEYS = { accessKey: 'GrpcUser01', accessSecret: 'grpc-user-secret' };

let broker;

test.before(async () => {
  assert.ok(BROKER, 'THRUSTER_BROKER must name the thruster-broker binary');
  const aclFile = path.join(TMP, 'plain_acl.yml');
  fs.writeFileSync(aclFile, [
    'accounts:',
    `  - accessKey: ${KEYS.accessKey}`,
    `    secretKey: ${KEYS.accessSecret}`,
    '    admin: false',
    '    defaultTopicPerm: DENY',
    '    defaultGroupPerm: DENY',
    '    topicPerms:',
    `      - ${TOPIC}=PUB|SUB`,
    `      - ${READ_ONLY_TOPIC}=SUB`,
    '    groupPerms:',
    `      - ${GROUP}=SUB`,
    '',
  ].join('\n'));
  broker = await startBroker({ storeDir: path.join(TMP, 'store'), extra: [
    '--enableGrpcServer=true', '--grpcServerPort=0', '--aclEnable=true', `--aclFile=${aclFile}`,
    '--tls.server.mode=enforcing', `--tls.server.certPath=${CERT}`, `--tls.server.keyPath=${KEY}`,
    `--tls.server.keyPassword=${KEY_PASSWORD}`,
    '--channelExpiredTimeout=2000',
  ] });
});

test.after(async () => {
  if (broker) assert.equal(await stopBroker(broker), 0, `broker did not stop cleanly:\n${broker.log()}`);
  fs.rmSync(TMP, { recursive: true, force: true });
});

// A request's status from the client's own transport, with the metadata (and signature) `client` makes.
async function call(client, name, request, { ssl = true, timeoutMs = 5000 } = {}) {
  const rpc = new RpcClient(new Endpoints(broker.endpoints), ssl);
  try {
    return await rpc[name](request, client.getRequestMetadata(), timeoutMs);
  } finally {
    rpc.close();
  }
}

function routeRequest(topic) {
  return new pb.QueryRouteRequest().setTopic(new def.Resource().setName(topic))
    .setEndpoints(new Endpoints(broker.endpoints).toProtobuf());
}

test('over TLS with an account: a producer sends, a SimpleConsumer receives and acks', async () => {
  const producer = new Producer({ endpoints: broker.endpoints, topics: [ TOPIC ], logger: quietLogger,
    sslEnabled: true, sessionCredentials: KEYS });
  await producer.startup();
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await producer.send({ topic: TOPIC, body: Buffer.from(`secure-${i}`) })).messageId);
  await producer.shutdown();

  const consumer = new SimpleConsumer({ endpoints: broker.endpoints, consumerGroup: GROUP,
    subscriptions: new Map([ [ TOPIC, '*' ] ]), logger: quietLogger, awaitDuration: 5000, sslEnabled: true,
    sessionCredentials: KEYS });
  await consumer.startup();
  const got = [];
  const deadline = Date.now() + 30000;
  while (got.length < 3 && Date.now() < deadline) got.push(...await consumer.receive(32, 15000));
  assert.deepEqual(got.map(m => m.messageId).sort(), [ ...ids ].sort());
  for (const m of got) await consumer.ack(m);
  await consumer.shutdown();
});

test('a plaintext client cannot talk to the TLS port', async () => {
  const client = new Producer({ endpoints: broker.endpoints, topics: [ TOPIC ], logger: quietLogger,
    sessionCredentials: KEYS });
  try {
    await assert.rejects(call(client, 'queryRoute', routeRequest(TOPIC), { ssl: false, timeoutMs: 2000 }));
  } finally {
    client.rpcClientManager.close();
  }
});

test('a wrong secret or no account is UNAUTHORIZED; a topic the account may only read is FORBIDDEN to send to',
  async () => {
    // Never started, these clients only lend their metadata; their transports are closed at the end.
    const wrong = new Producer({ endpoints: broker.endpoints, topics: [ TOPIC ], logger: quietLogger,
      sslEnabled: true, sessionCredentials: { accessKey: KEYS.accessKey, accessSecret: 'not-the-secret' } });
    const anonymous = new Producer({ endpoints: broker.endpoints, topics: [ TOPIC ], logger: quietLogger,
      sslEnabled: true });
    const reader = new Producer({ endpoints: broker.endpoints, topics: [ READ_ONLY_TOPIC ], logger: quietLogger,
      sslEnabled: true, sessionCredentials: KEYS });
    try {
      const refused = (await call(wrong, 'queryRoute', routeRequest(TOPIC))).getStatus();
      assert.equal(refused.getCode(), def.Code.UNAUTHORIZED);
      assert.match(refused.getMessage(), /Check signature failed/);

      const none = (await call(anonymous, 'queryRoute', routeRequest(TOPIC))).getStatus();
      assert.equal(none.getCode(), def.Code.UNAUTHORIZED);
      assert.match(none.getMessage(), /No accessKey/);

      const route = (await call(reader, 'queryRoute', routeRequest(READ_ONLY_TOPIC))).getStatus();
      assert.equal(route.getCode(), def.Code.OK, `SUB is enough for the route: ${route.getMessage()}`);
      const message = new def.Message().setTopic(new def.Resource().setName(READ_ONLY_TOPIC))
        .setBody(Buffer.from('not allowed'))
        .setSystemProperties(new def.SystemProperties().setMessageId(`GRPCSEC${RUN_ID}`)
          .setMessageType(def.MessageType.NORMAL));
      const send = new pb.SendMessageRequest();
      send.addMessages(message);
      const sent = (await call(reader, 'sendMessage', send)).getStatus();
      assert.equal(sent.getCode(), def.Code.FORBIDDEN);
      assert.match(sent.getMessage(), /No PUB permission for topic/);
    } finally {
      for (const c of [ wrong, anonymous, reader ]) c.rpcClientManager.close();
    }
  });

test('the settings of a client that stops heartbeating are dropped after channelExpiredTimeout', async () => {
  const producer = new Producer({ endpoints: broker.endpoints, topics: [ TOPIC ], logger: quietLogger,
    sslEnabled: true, sessionCredentials: KEYS });
  await producer.startup();
  try {
    const heartbeat = async () => (await call(producer, 'heartbeat',
      new pb.HeartbeatRequest().setClientType(def.ClientType.PRODUCER))).getStatus().getCode();
    assert.equal(await heartbeat(), def.Code.OK, 'known by its settings');
    // The client heartbeats every 10 s, so 2 s of silence (plus the 1 s sweep) is enough for the broker to forget
    // it; waiting out that time is what is under test.
    await new Promise(resolve => setTimeout(resolve, 4500));
    assert.equal(await heartbeat(), def.Code.UNRECOGNIZED_CLIENT_TYPE, 'nothing is kept of a silent client');
  } finally {
    await producer.shutdown();
  }
});

// The serial number of the certificate a new TLS handshake on the gRPC port presents.
function grpcPeerSerial() {
  const [ host, port ] = broker.endpoints.split(':');
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port: Number(port), ALPNProtocols: [ 'h2' ], rejectUnauthorized: false },
      () => {
        const serial = socket.getPeerCertificate().serialNumber;
        socket.destroy();
        resolve(serial);
      });
    socket.on('error', reject);
  });
}

// One unary call (an empty QueryRouteRequest) on an HTTP/2 session of its own: its grpc-status.
function grpcStatusOn(session) {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': '/apache.rocketmq.v2.MessagingService/QueryRoute',
      'content-type': 'application/grpc', te: 'trailers' });
    let status;
    req.on('response', headers => { status = headers['grpc-status'] ?? status; });
    req.on('trailers', trailers => { status = trailers['grpc-status'] ?? status; });
    req.on('close', () => resolve(status));
    req.on('error', reject);
    req.resume();
    req.end(Buffer.alloc(5));  // not compressed, 0 bytes
  });
}

test('a certificate replaced on disk reaches new connections, open ones keep working, a mismatched key is refused',
  async () => {
    const producer = new Producer({ endpoints: broker.endpoints, topics: [ TOPIC ], logger: quietLogger,
      sslEnabled: true, sessionCredentials: KEYS });
    await producer.startup();
    const session = http2.connect(`https://${broker.endpoints}`,
      { ca: fs.readFileSync(ROOTS), servername: 'localhost' });
    let fresh;
    try {
      assert.ok((await producer.send({ topic: TOPIC, body: Buffer.from('before the reload') })).messageId);
      assert.equal(await grpcPeerSerial(), FIRST_SERIAL);
      assert.equal(await grpcStatusOn(session), '0');

      // Replaced as a deployment tool does it: each file renamed into place whole, the key first.
      fs.renameSync(NEXT_KEY, KEY);
      fs.renameSync(NEXT_CERT, CERT);
      // The broker looks at the files every 500 ms; wait until a new handshake shows the new certificate.
      const deadline = Date.now() + 20000;
      let serial = await grpcPeerSerial();
      while (serial !== NEXT_SERIAL && Date.now() < deadline) {
        await new Promise(resolve => setTimeout(resolve, 100));
        serial = await grpcPeerSerial();
      }
      assert.equal(serial, NEXT_SERIAL, `the new certificate was not served:\n${broker.log()}`);

      // The open connections are untouched, and a new client verifies the new certificate.
      assert.equal(await grpcStatusOn(session), '0');
      assert.equal(session.socket.getPeerCertificate().serialNumber, FIRST_SERIAL);
      assert.ok((await producer.send({ topic: TOPIC, body: Buffer.from('after the reload') })).messageId);
      fresh = new Producer({ endpoints: broker.endpoints, topics: [ TOPIC ], logger: quietLogger, sslEnabled: true,
        sessionCredentials: KEYS });
      await fresh.startup();
      assert.ok((await fresh.send({ topic: TOPIC, body: Buffer.from('new connection') })).messageId);

      // A key that does not match its certificate is refused; the certificate in use stays.
      fs.renameSync(ODD_KEY, KEY);
      fs.renameSync(ODD_CERT, CERT);
      const refusedBy = Date.now() + 20000;
      while (!/gRPC port: TLS files not reloaded/.test(broker.log()) && Date.now() < refusedBy) {
        await new Promise(resolve => setTimeout(resolve, 100));
      }
      assert.match(broker.log(),
        /gRPC port: TLS files not reloaded.*no PEM certificate that matches tls.server.keyPath/);
      assert.equal(await grpcPeerSerial(), NEXT_SERIAL);
      assert.ok((await producer.send({ topic: TOPIC, body: Buffer.from('after a refused reload') })).messageId);
    } finally {
      session.close();
      await producer.shutdown();
      if (fresh) await fresh.shutdown();
    }
  });
