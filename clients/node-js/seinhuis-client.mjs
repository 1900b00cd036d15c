#!/usr/bin/env node
// An independent Seinhuis partner client: proves the wire contract is language-neutral.
//
// Loads the .proto files, signs and seals signals exactly as proto/seinhuis/v1/envelope.proto
// says, submits them to the hub over mutual TLS (Submit and SubmitStream), withdraws one, and
// reads the partner feed until the hub reports that withdrawal. It never sees a citizen number:
// pseudonyms are handed to it, already made by the pseudonymisation service.
//
//   node seinhuis-client.mjs --config job.json
//
// job.json (paths absolute or relative to the file):
//   { "hub": "127.0.0.1:50051", "server_name": "hub", "hub_id": "hub",
//     "partner_id": "ggd-west", "proto_root": "../../proto",
//     "tls": { "ca_cert": "ca.crt", "cert": "tls.crt", "key": "tls.key" },
//     "signing_key": "signing.key", "hub_sealing_public": "hub-sealing.pub",
//     "signal": { "signal_type": "SIGNAL_TYPE_ZORGWEKKEND_GEDRAG", ..., "subject": {
//       "person_pseudonym": "<64 hex>", "address_pseudonym": "<64 hex>", "key_version": 1 } },
//     "feed_timeout_ms": 30000 }
//
// Prints one JSON object: the ids it submitted and withdrew, and the notifications it read.

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";

import { readKeyFile, seal, signer } from "./envelope.mjs";

const PROTO_FILES = ["seinhuis/v1/intake.proto", "seinhuis/v1/feed.proto"];

function loadJob(path) {
  const job = JSON.parse(readFileSync(path, "utf8"));
  const base = dirname(resolve(path));
  const at = (p) => resolve(base, p);
  return {
    ...job,
    proto_root: at(job.proto_root),
    tls: { ca_cert: at(job.tls.ca_cert), cert: at(job.tls.cert), key: at(job.tls.key) },
    signing_key: at(job.signing_key),
    hub_sealing_public: at(job.hub_sealing_public),
  };
}

/** The gRPC services, from the .proto files (proto-loader). */
function loadServices(protoRoot) {
  const definition = protoLoader.loadSync(PROTO_FILES, {
    includeDirs: [protoRoot],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).seinhuis.v1;
}

/** The envelope messages, from the same .proto files (protobufjs). */
function loadTypes(protoRoot) {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => resolve(protoRoot, target);
  root.loadSync("seinhuis/v1/envelope.proto", { keepCase: true });
  const type = (name) => root.lookupType(`seinhuis.v1.${name}`);
  return {
    Statement: type("Statement"),
    SignedStatement: type("SignedStatement"),
    SealedEnvelope: type("SealedEnvelope"),
  };
}

const hex = (bytes) => Buffer.from(bytes).toString("hex");
const fromHex = (text) => Uint8Array.from(Buffer.from(text, "hex"));

function signalStatement(signal) {
  const now = Date.now();
  return {
    id: randomBytes(16), // fixed once: a retry reuses it and the hub answers ALREADY_EXISTS
    signed_at: { seconds: Math.floor(now / 1000), nanos: (now % 1000) * 1e6 },
    signal: {
      ...signal,
      subject: {
        ...signal.subject,
        person_pseudonym: fromHex(signal.subject.person_pseudonym ?? ""),
        address_pseudonym: fromHex(signal.subject.address_pseudonym),
      },
    },
  };
}

const unary = (client, method, request) =>
  new Promise((ok, fail) =>
    client[method](request, { deadline: Date.now() + 30_000 }, (err, res) =>
      err ? fail(err) : ok(res),
    ),
  );

function submitStream(client, envelopes) {
  return new Promise((ok, fail) => {
    const call = client.SubmitStream({ deadline: Date.now() + 30_000 }, (err, res) =>
      err ? fail(err) : ok(res),
    );
    call.write({ envelopes });
    call.end();
  });
}

/** Reads the feed from the start until `done(notifications)` holds or the time is up. */
function readFeed(client, done, timeoutMs) {
  return new Promise((ok, fail) => {
    const seen = [];
    const call = client.Subscribe({ after_cursor: "0" });
    const timer = setTimeout(() => {
      call.cancel();
      fail(new Error(`feed: not done after ${timeoutMs} ms; read ${JSON.stringify(seen)}`));
    }, timeoutMs);
    call.on("data", (response) => {
      const kind = response.notification;
      const body = response[kind] ?? {};
      seen.push({
        cursor: Number(response.cursor),
        kind,
        ...(body.id ? { id: hex(body.id) } : {}),
        ...(body.reason ? { reason: body.reason } : {}),
        ...(body.signal_ids ? { signal_ids: body.signal_ids.map(hex) } : {}),
        ...(body.status ? { status: body.status } : {}),
      });
      if (done(seen)) {
        clearTimeout(timer);
        call.cancel();
        ok(seen);
      }
    });
    call.on("error", (err) => {
      if (err.code !== grpc.status.CANCELLED) {
        clearTimeout(timer);
        fail(err);
      }
    });
  });
}

async function main() {
  const { values } = parseArgs({ options: { config: { type: "string" } } });
  if (!values.config) throw new Error("usage: seinhuis-client.mjs --config job.json");
  const job = loadJob(values.config);
  const services = loadServices(job.proto_root);
  const types = loadTypes(job.proto_root);

  const credentials = grpc.credentials.createSsl(
    readFileSync(job.tls.ca_cert),
    readFileSync(job.tls.key),
    readFileSync(job.tls.cert),
  );
  const options = { "grpc.ssl_target_name_override": job.server_name };
  const intake = new services.IntakeService(job.hub, credentials, options);
  const feed = new services.PartnerFeedService(job.hub, credentials, options);

  const me = signer(readKeyFile(job.signing_key, "signing-key", 32));
  const sealing = {
    partnerId: job.partner_id,
    sign: me.sign,
    senderKeyId: me.keyId,
    hubId: job.hub_id,
    hubPublic: readKeyFile(job.hub_sealing_public, "sealing-pub", 32),
  };

  // One signal on its own (Submit), one in a stream (SubmitStream) that is then withdrawn.
  const kept = seal(types, signalStatement(job.signal), sealing);
  const submitted = await unary(intake, "Submit", { envelope: kept });
  const streamed = await submitStream(intake, [seal(types, signalStatement(job.signal), sealing)]);
  const [result] = streamed.results;
  if ((result.code ?? 0) !== 0) {
    throw new Error(`the hub refused the streamed envelope: ${result.code} ${result.message}`);
  }
  await unary(intake, "Withdraw", { id: result.id, reason: "WITHDRAW_REASON_UNJUSTIFIED" });
  const withdrawn = hex(result.id);

  const notifications = await readFeed(
    feed,
    (seen) => seen.some((n) => n.kind === "signal_withdrawn" && n.id === withdrawn),
    job.feed_timeout_ms ?? 30_000,
  );
  intake.close();
  feed.close();
  process.stdout.write(
    `${JSON.stringify({ submitted: hex(submitted.id), streamed: withdrawn, withdrawn, notifications })}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`seinhuis-client: ${err.code !== undefined ? `${err.code} ` : ""}${err.message}\n`);
  process.exit(1);
});
