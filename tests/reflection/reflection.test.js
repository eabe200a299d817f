// reflection.test.js - valvd's gRPC server reflection, checked with clients
// Valv did not write: grpc-js-reflection-client on @grpc/grpc-js, in both
// protocol versions (grpc.reflection.v1 and v1alpha).
//
//   VALVD=build/valvd node --test tests/reflection/reflection.test.js
//
// Starts valvd --dev on 127.0.0.1, port 0, with a fresh data directory,
// and stops it with SIGTERM at the end (it must exit 0).
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const grpc = require('@grpc/grpc-js');
const { GrpcReflection } = require('grpc-js-reflection-client');
// The client's own generated code for each protocol version: the raw stream,
// to see exactly what valvd answers (GrpcReflection hides it).
const protocols = {
  v1: require('grpc-js-reflection-client/dist/Proto/v1').grpc.reflection.v1,
  v1alpha: require('grpc-js-reflection-client/dist/Proto/v1alpha').grpc.reflection.v1alpha,
};
const { FileDescriptorProto } = require('protobufjs/ext/descriptor');

const START_TIMEOUT_MS = 10000;
const STOP_TIMEOUT_MS = 15000;
const NOT_FOUND = grpc.status.NOT_FOUND;
const insecure = () => grpc.credentials.createInsecure();

let dev; // valvd --dev, which most tests ask
let addr; // its address
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'valv-reflection-'));

// Starts valvd with args (and a fresh data directory) on 127.0.0.1, port 0;
// resolves once it prints 'listening on ADDR'.
function startValvd(name, args) {
  assert.ok(process.env.VALVD, 'set VALVD to the path of valvd (ctest does)');
  const child = spawn(process.env.VALVD,
    [...args, '--listen', '127.0.0.1:0', '--data-dir', path.join(scratch, name)],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal || code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('valvd did not print "listening on" in time')), START_TIMEOUT_MS);
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^listening on (\S+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({ child, exited, addr: m[1] });
      }
    });
    exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`valvd exited before it served (${how})`));
    });
  });
}

// SIGTERM; valvd must drain and exit 0.
async function stopValvd(server) {
  server.child.kill('SIGTERM');
  const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS).unref());
  const how = await Promise.race([server.exited, timeout]);
  if (how === 'timeout')
    server.child.kill('SIGKILL');
  assert.equal(how, 0, 'valvd stops cleanly on SIGTERM (exit 0)');
}

before(async () => {
  dev = await startValvd('dev', ['--dev']);
  addr = dev.addr;
});

after(async () => {
  try {
    if (dev)
      await stopValvd(dev);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});

// Sends the requests on one ServerReflectionInfo stream, closes it, and
// resolves with the responses (plain objects; bytes as Uint8Array).
function ask(version, requests) {
  const proto = protocols[version];
  const client = new proto.ServerReflectionClient(addr, insecure());
  return new Promise((resolve, reject) => {
    const responses = [];
    const call = client.ServerReflectionInfo();
    call.on('data', (r) => responses.push(r.toObject()));
    call.on('error', (e) => {
      client.close();
      reject(e);
    });
    call.on('end', () => {
      client.close();
      resolve(responses);
    });
    for (const r of requests)
      call.write(proto.ServerReflectionRequest.fromObject(r));
    call.end();
  });
}

const fileNames = (response) =>
  response.fileDescriptorResponse.fileDescriptorProto.map((bytes) => FileDescriptorProto.decode(bytes).name);

const EXPECTED_SERVICES = [
  'valv.v1.Inventory',
  'valv.v1.Review',
  'valv.v1.Audit',
  'valv.v1.Admin',
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
];

for (const version of ['v1', 'v1alpha']) {
  test(`${version}: list services names every service valvd serves, once`, async () => {
    const reflection = new GrpcReflection(addr, insecure(), {}, version);
    const services = await reflection.listServices();
    for (const name of EXPECTED_SERVICES)
      assert.ok(services.includes(name), `${name} is listed (got ${services.join(', ')})`);
    assert.equal(new Set(services).size, services.length, 'no service is listed twice');
  });

  test(`${version}: the service valv.v1.Inventory resolves to a full definition`, async () => {
    const reflection = new GrpcReflection(addr, insecure(), {}, version);
    const root = (await reflection.getDescriptorBySymbol('valv.v1.Inventory')).getProtobufJsRoot();
    root.resolveAll(); // throws if a type refers to something no file declared
    const getAsset = root.lookupService('valv.v1.Inventory').methods.GetAsset;
    assert.ok(getAsset, 'Inventory has GetAsset');
    assert.equal(getAsset.resolvedRequestType.fullName, '.valv.v1.GetAssetRequest');
    assert.equal(getAsset.resolvedResponseType.fullName, '.valv.v1.Asset');
    const asset = root.lookupType('valv.v1.Asset'); // protobufjs names fields in camelCase
    assert.equal(asset.fields.displayName.id, 3);
    assert.equal(asset.fields.updateTime.resolvedType.fullName, '.google.protobuf.Timestamp');
    const methods = (await reflection.listMethods('valv.v1.Inventory')).map((m) => m.name);
    assert.ok(methods.includes('ImportAssets') && methods.includes('WatchChanges'), methods.join(', '));
  });

  test(`${version}: one answer carries the file and all it imports`, async () => {
    const [r] = await ask(version, [{ fileContainingSymbol: 'valv.v1.Inventory.GetAsset' }]);
    const names = fileNames(r);
    assert.equal(names[0], 'valv/v1/inventory.proto', 'the file asked for comes first');
    for (const dep of ['valv/v1/asset.proto', 'valv/v1/import.proto', 'google/protobuf/timestamp.proto',
                       'google/protobuf/field_mask.proto', 'google/protobuf/empty.proto'])
      assert.ok(names.includes(dep), `${dep} is in the answer (got ${names.join(', ')})`);
    assert.equal(new Set(names).size, names.length, 'each file once');
  });

  test(`${version}: file by filename`, async () => {
    const reflection = new GrpcReflection(addr, insecure(), {}, version);
    const root = (await reflection.getDescriptorByFileName('valv/v1/asset.proto')).getProtobufJsRoot();
    assert.ok(root.lookupEnum('valv.v1.AssetKind').values.IT_SYSTEM, 'AssetKind has IT_SYSTEM');
    const [r] = await ask(version, [{ fileByFilename: 'grpc/reflection/v1alpha/reflection.proto' }]);
    assert.deepEqual(fileNames(r), ['grpc/reflection/v1alpha/reflection.proto']);
  });

  test(`${version}: unknown names get a NOT_FOUND error response, and the stream goes on`, async () => {
    const reflection = new GrpcReflection(addr, insecure(), {}, version);
    await assert.rejects(reflection.getDescriptorBySymbol('valv.v1.Nope'), /valv\.v1\.Nope/);
    const rs = await ask(version, [
      { fileContainingSymbol: 'valv.v1.Nope' },
      { fileByFilename: 'valv/v1/nope.proto' },
      { fileContainingExtension: { containingType: 'valv.v1.Asset', extensionNumber: 100 } },
      { allExtensionNumbersOfType: 'valv.v1.Nope' },
      { listServices: '' },
    ]);
    assert.equal(rs.length, 5, 'one response per request, in order');
    for (const [i, what] of ['valv.v1.Nope', 'valv/v1/nope.proto', 'valv.v1.Asset', 'valv.v1.Nope'].entries()) {
      assert.equal(rs[i].errorResponse.errorCode, NOT_FOUND, `request ${i}: NOT_FOUND`);
      assert.ok(rs[i].errorResponse.errorMessage.includes(what), rs[i].errorResponse.errorMessage);
    }
    assert.equal(rs[0].originalRequest.fileContainingSymbol, 'valv.v1.Nope', 'the request is echoed');
    assert.ok(rs[4].listServicesResponse.service.some((x) => x.name === 'valv.v1.Inventory'), 'then an answer again');
  });

  test(`${version}: a message type without extensions has none`, async () => {
    const reflection = new GrpcReflection(addr, insecure(), {}, version);
    const r = await reflection.getAllExtensionNumbersOfType('valv.v1.Asset');
    assert.equal(r.base_type_name, 'valv.v1.Asset');
    assert.deepEqual(r.extension_number, []);
  });
}

// What grpcurl does after describe: call methods through definitions it got
// by reflection alone.
test('definitions from reflection drive real calls: Health/Check and Inventory', async () => {
  const reflection = new GrpcReflection(addr, insecure(), {}, 'v1');
  const health = (await reflection.getDescriptorBySymbol('grpc.health.v1.Health')).getPackageObject();
  const healthClient = new health.grpc.health.v1.Health(addr, insecure());
  const status = await new Promise((resolve, reject) =>
    healthClient.Check({ service: '' }, (e, r) => (e ? reject(e) : resolve(r.status))));
  healthClient.close();
  assert.equal(status, 'SERVING');

  const valv = (await reflection.getDescriptorBySymbol('valv.v1.Inventory')).getPackageObject();
  const inventory = new valv.valv.v1.Inventory(addr, insecure());
  const unary = (method, request) =>
    new Promise((resolve, reject) => inventory[method](request, (e, r) => (e ? reject(e) : resolve(r))));
  const created = await unary('CreateAsset', {
    asset_id: 'personakter',
    asset: { kind: 'INFORMATION', display_name: 'Personakter', owner_unit: 'socialnamnden' },
  });
  assert.equal(created.name, 'assets/personakter');
  const got = await unary('GetAsset', { name: 'assets/personakter' });
  assert.equal(got.display_name, 'Personakter');
  assert.equal(got.kind, 'INFORMATION');
  await assert.rejects(unary('GetAsset', { name: 'assets/nope' }), (e) => e.code === NOT_FOUND);
  inventory.close();
});

// Reflection shows only the API's shape, so it is open like health: over TLS
// it answers a client with no certificate and no token, which may call
// nothing else.
test('over TLS, reflection needs no identity; the API still does', async () => {
  const certs = path.join(scratch, 'certs');
  execFileSync(path.join(__dirname, '..', '..', 'deploy', 'dev-certs.sh'), [certs, 'lena'], { stdio: 'ignore' });
  const principals = path.join(scratch, 'principals.json');
  fs.writeFileSync(principals, JSON.stringify({
    principals: [{ id: 'lena', roles: ['reader'], identities: [{ cert: 'lena.clients.valv.test' }] }],
  }));
  const tls = await startValvd('tls', ['--tls-cert', path.join(certs, 'server.crt'),
    '--tls-key', path.join(certs, 'server.key'), '--client-ca', path.join(certs, 'ca.crt'),
    '--principals', principals]);
  try {
    const anonymous = grpc.credentials.createSsl(fs.readFileSync(path.join(certs, 'ca.crt')));
    const reflection = new GrpcReflection(tls.addr, anonymous, {}, 'v1');
    assert.ok((await reflection.listServices()).includes('valv.v1.Inventory'));
    const valv = (await reflection.getDescriptorBySymbol('valv.v1.Inventory')).getPackageObject();
    const inventory = new valv.valv.v1.Inventory(tls.addr, anonymous);
    await assert.rejects(
      new Promise((resolve, reject) =>
        inventory.GetAsset({ name: 'assets/x' }, (e, r) => (e ? reject(e) : resolve(r)))),
      (e) => e.code === grpc.status.UNAUTHENTICATED);
    inventory.close();
  } finally {
    await stopValvd(tls);
  }
});
