// An independent WeChat client for the end-to-end tests: signs and encrypts pushes the way the
// WeChat servers do, and decrypts replies, using only node:crypto (none of the Worker's code).
import crypto from 'node:crypto';

export function sha1Signature(...parts) {
  return crypto.createHash('sha1').update([...parts].sort().join('')).digest('hex');
}

export function aesKey(encodingAesKey) {
  return Buffer.from(encodingAesKey + '=', 'base64');
}

// random16 || be32(len) || msg || appid, PKCS#7-padded to 32 bytes, AES-256-CBC, iv = key[0..16].
export function encrypt(encodingAesKey, appid, message, { random16 = crypto.randomBytes(16), pad } = {}) {
  const key = aesKey(encodingAesKey);
  const msg = Buffer.from(message, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(msg.length);
  let plain = Buffer.concat([random16, len, msg, Buffer.from(appid, 'utf8')]);
  const padLen = 32 - (plain.length % 32);
  plain = Buffer.concat([plain, Buffer.alloc(padLen, pad ?? padLen)]);
  const cipher = crypto.createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
}

export function decrypt(encodingAesKey, b64) {
  const key = aesKey(encodingAesKey);
  const decipher = crypto.createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(Buffer.from(b64, 'base64')), decipher.final()]);
  const pad = plain[plain.length - 1];
  if (pad < 1 || pad > 32) throw new Error(`bad padding ${pad}`);
  const content = plain.subarray(0, plain.length - pad);
  const len = content.readUInt32BE(16);
  return {
    message: content.subarray(20, 20 + len).toString('utf8'),
    appid: content.subarray(20 + len).toString('utf8'),
  };
}

// Leaf text of the first element with this name, its CDATA sections joined: enough for replies.
export function xmlField(xml, name) {
  const m = xml.match(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`));
  return m ? m[1].replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1') : undefined;
}

// An XML push: strings in CDATA, numbers, bigints and booleans as text, objects as nested elements.
export function cdata(fields) {
  return '<xml>' + xmlElements(fields) + '</xml>';
}

function xmlElements(fields) {
  return Object.entries(fields).map(([k, v]) => {
    if (typeof v === 'string') return `<${k}><![CDATA[${v}]]></${k}>`;
    if (typeof v === 'object' && v !== null) return `<${k}>${xmlElements(v)}</${k}>`;
    return `<${k}>${v}</${k}>`;
  }).join('');
}

// JSON in which bigints are written as exact JSON numbers (JSON.stringify refuses them), as a
// platform that sends 64-bit IDs as numbers would.
export function jsonWithBigInts(value) {
  return JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? `\u0000big:${v}` : v))
    .replace(/"\\u0000big:(\d+)"/g, '$1');
}

export const now = () => Math.floor(Date.now() / 1000);
export const nonce = () => String(crypto.randomInt(1e9));
export const msgId = () => String(BigInt(Date.now()) * 1000000n + BigInt(crypto.randomInt(1e6)));

// A signed plain-mode query string.
export function plainQuery(token, { timestamp = now(), n = nonce() } = {}) {
  const ts = String(timestamp);
  return `signature=${sha1Signature(token, ts, n)}&timestamp=${ts}&nonce=${n}`;
}

// A safe-mode push: the encrypted envelope body and its signed query string. `envelope: 'json'`
// sends the envelope as JSON (`{"ToUserName":…,"Encrypt":…}`), as the WeChat Shop does when
// its data format is JSON.
export function safePush(token, encodingAesKey, appid, plaintext, { timestamp = now(), n = nonce(), envelope, ...opts } = {}) {
  const enc = encrypt(encodingAesKey, appid, plaintext, opts);
  return sealedEnvelope(token, enc, { timestamp, n, envelope });
}

// A push whose Encrypt text is given as is (to send forged ciphertext with a valid signature).
export function sealedEnvelope(token, enc, { timestamp = now(), n = nonce(), envelope = 'xml' } = {}) {
  const ts = String(timestamp);
  const query = `signature=${sha1Signature(token, ts, n)}&timestamp=${ts}&nonce=${n}` +
    `&encrypt_type=aes&msg_signature=${sha1Signature(token, ts, n, enc)}`;
  const body = envelope === 'json'
    ? JSON.stringify({ ToUserName: 'gh_test', Encrypt: enc })
    : `<xml><ToUserName><![CDATA[gh_test]]></ToUserName><Encrypt><![CDATA[${enc}]]></Encrypt></xml>`;
  return { query, body, enc };
}
