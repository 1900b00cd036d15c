// The Seinhuis envelope, built from the wire contract alone (proto/seinhuis/v1/envelope.proto):
// a Statement signed with the partner's Ed25519 key and sealed to the hub's X25519 key.
//
//   signature = Ed25519(SIGNING_CONTEXT || serialized Statement)
//   sealed    = crypto_box_seal(serialized SignedStatement, hub public key)   (libsodium format)
//   key ids   = first 8 bytes of SHA-256 of the public key
//
// Independent of libsodium: Ed25519 and X25519/XSalsa20-Poly1305 come from tweetnacl, BLAKE2b
// and SHA-256 from @noble/hashes.

import { readFileSync } from "node:fs";

import { blake2b } from "@noble/hashes/blake2.js";
import { sha256 } from "@noble/hashes/sha2.js";
import nacl from "tweetnacl";

/** Domain separation: a signature over a Statement can never be taken for anything else. */
export const SIGNING_CONTEXT = new TextEncoder().encode("seinhuis.v1.Statement\0");

const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
};

/** The first 8 bytes of the SHA-256 of a public key. */
export const keyId = (publicKey) => sha256(publicKey).slice(0, 8);

/**
 * A Seinhuis key file: one line `seinhuis-<kind> <hex>` (seinhuis/crypto/keys.py).
 * The label stops a sealing key being used as a signing key.
 */
export function readKeyFile(path, kind, length) {
  const [label, hex] = readFileSync(path, "utf8").trim().split(" ");
  if (label !== `seinhuis-${kind}`) {
    throw new Error(`${path}: expected a seinhuis-${kind} key, found ${label || "nothing"}`);
  }
  const raw = Uint8Array.from(Buffer.from(hex ?? "", "hex"));
  if (raw.length !== length) {
    throw new Error(`${path}: key must be ${length} bytes, is ${raw.length}`);
  }
  return raw;
}

/** libsodium's crypto_box_seal: ephemeral pk || crypto_box(m, nonce, pk, esk). */
export function sealedBox(message, recipientPublicKey) {
  const ephemeral = nacl.box.keyPair();
  // crypto_box_seal's nonce: BLAKE2b-192 of the ephemeral and the recipient's public keys.
  const nonce = blake2b(concat(ephemeral.publicKey, recipientPublicKey), { dkLen: 24 });
  const boxed = nacl.box(message, nonce, recipientPublicKey, ephemeral.secretKey);
  ephemeral.secretKey.fill(0);
  return concat(ephemeral.publicKey, boxed);
}

/** A partner's signer from its 32-byte Ed25519 seed (the signing.key file). */
export function signer(seed) {
  const pair = nacl.sign.keyPair.fromSeed(seed);
  return {
    publicKey: pair.publicKey,
    keyId: keyId(pair.publicKey),
    sign: (statementBytes) =>
      nacl.sign.detached(concat(SIGNING_CONTEXT, statementBytes), pair.secretKey),
  };
}

/**
 * Sign and seal one statement.
 * types: the protobufjs types Statement, SignedStatement and SealedEnvelope.
 * statement: a plain object with id, signed_at and a payload; sender, sender_key_id and
 * recipient are filled in here, as the contract asks.
 */
export function seal(types, statement, { partnerId, sign, senderKeyId, hubId, hubPublic }) {
  const full = { ...statement, sender: partnerId, sender_key_id: senderKeyId, recipient: hubId };
  const message = types.Statement.fromObject(full);
  const problem = types.Statement.verify(message) ?? unknownEnumNames(types.Statement, full, message);
  if (problem) throw new Error(`not a valid Statement: ${problem}`);
  const body = types.Statement.encode(message).finish();
  const signed = types.SignedStatement.encode({ statement: body, signature: sign(body) }).finish();
  return { hub_key_id: keyId(hubPublic), sealed: sealedBox(signed, hubPublic) };
}

/** fromObject drops enum names it does not know; say which one instead of sending 0. */
function unknownEnumNames(type, given, message) {
  const back = type.toObject(message, { enums: String });
  const walk = (input, output, path) => {
    for (const [key, value] of Object.entries(input)) {
      if (typeof value === "string" && /^[A-Z][A-Z0-9_]*$/.test(value) && output?.[key] !== value) {
        return `${path}${key}: unknown value ${value}`;
      }
      if (value && typeof value === "object" && !ArrayBuffer.isView(value)) {
        const found = walk(value, output?.[key], `${path}${key}.`);
        if (found) return found;
      }
    }
    return null;
  };
  return walk(given, back, "");
}
