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
const os = require('node:os');
const path = require('node:path');

// The client checks the broker's certificate against the roots grpc-js reads, when it is loaded, from
// GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: the certificate is made before the client is required.
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'thruster-grpc-sec-'));
const CERT = path.join(TMP, 'cert.pem');
const KEY = path.join(TMP, 'key.pem');
execFileSync('openssl', [ 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', KEY, '-out', CERT, '-days', '2',
  '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost' ], { stdio: 'ignore' });
process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH = CERT;

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
