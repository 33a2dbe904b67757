"""Computes tests/vectors/wecom-kf-crypto.json independently of kefu-edge: WeCom's callback
crypto (msg_signature = sha1 of the sorted token, timestamp, nonce and ciphertext; AES-256-CBC
of random16 || be32(len) || msg || CorpID, PKCS#7 to 32 bytes, key = base64(EncodingAESKey + '='),
iv = key[:16]) with Python's `cryptography`, for the 微信客服 callback (/wechat/kf).

Run: python3 tests/vectors/wecom-kf-crypto.py > tests/vectors/wecom-kf-crypto.json
"""
import base64
import hashlib
import json
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

TOKEN = "kfToken2026"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP_ID = "wwa1b2c3d4e5f60718"


def encrypt(message: str, receive_id: str, random16: bytes) -> str:
    key = base64.b64decode(AES_KEY + "=")
    body = random16 + struct.pack(">I", len(message.encode())) + message.encode() + receive_id.encode()
    pad = 32 - len(body) % 32
    body += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(body) + enc.finalize()).decode()


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


CALLBACK = (
    "<xml><ToUserName><![CDATA[wwa1b2c3d4e5f60718]]></ToUserName><CreateTime>1765158000</CreateTime>"
    "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
    "<Token><![CDATA[ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR]]></Token>"
    "<OpenKfId><![CDATA[wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q]]></OpenKfId></xml>"
)

url_echostr = encrypt("6108427340651917812", CORP_ID, b"0123456789abcdef")
push = encrypt(CALLBACK, CORP_ID, b"fedcba9876543210")
foreign = encrypt(CALLBACK, "wwffffffffffffffff", b"fedcba9876543210")

print(json.dumps({
    "about": "WeCom 微信客服 callback crypto, computed by tests/vectors/wecom-kf-crypto.py with "
             "Python's cryptography (not with kefu-edge's code). The receive id is the CorpID.",
    "token": TOKEN,
    "encoding_aes_key": AES_KEY,
    "corp_id": CORP_ID,
    "url_check": {
        "timestamp": "1765158000", "nonce": "1372623149",
        "echostr": url_echostr,
        "msg_signature": signature(TOKEN, "1765158000", "1372623149", url_echostr),
        "expect_reply": "6108427340651917812",
    },
    "push": {
        "timestamp": "1765158001", "nonce": "9810237",
        "body": "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>" % (CORP_ID, push),
        "msg_signature": signature(TOKEN, "1765158001", "9810237", push),
        "expect_plaintext": CALLBACK,
        "expect_open_kfid": "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q",
        "expect_token": "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR",
    },
    "foreign_corp": {
        "timestamp": "1765158001", "nonce": "9810237",
        "body": "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt></xml>" % (CORP_ID, foreign),
        "msg_signature": signature(TOKEN, "1765158001", "9810237", foreign),
    },
}, indent=2, ensure_ascii=False))
