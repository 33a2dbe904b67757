"""wechatpy doing the work of benches/callback.rs, timed with timeit (run by bench/wechatpy.sh).

Same token, EncodingAESKey, AppID and message as benches/callback.rs. Per callback:
- plain: check_signature + parse_message + TransferCustomerServiceReply(...).render()
- safe:  WeChatCrypto.decrypt_message (msg_signature check + AES decrypt) + parse_message
         + TransferCustomerServiceReply + WeChatCrypto.encrypt_message (AES encrypt + sign)
Prints one line per mode: "wechatpy <mode> <best µs> <median µs> <loops>x<repeats>".
"""

import hashlib
import statistics
import sys
import timeit

import wechatpy
import xmltodict  # wechatpy's own XML dependency
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto, _get_signature
from wechatpy.replies import TransferCustomerServiceReply
from wechatpy.utils import check_signature

TOKEN = "bench-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wxb11529c136998cb6"
TS = "1700000000"
NONCE = "42"
MESSAGE = (
    "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[oUserBench0123456789]]>"
    "</FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>"
    "<![CDATA[我要退款 refund please]]></Content><MsgId>1234567890123456789</MsgId></xml>"
)

crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
signature = hashlib.sha1("".join(sorted([TOKEN, TS, NONCE])).encode()).hexdigest()
enc = crypto.encrypt_message(MESSAGE, NONCE, TS)  # an envelope as WeChat sends it (Encrypt, ...)
encrypted = xmltodict.parse(enc)["xml"]["Encrypt"]
safe_body = (
    "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
    f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
)
msg_signature = _get_signature(TOKEN, TS, NONCE, encrypted)


def plain():
    check_signature(TOKEN, signature, TS, NONCE)
    msg = parse_message(MESSAGE)
    return TransferCustomerServiceReply(message=msg).render()


def safe():
    xml = crypto.decrypt_message(safe_body, msg_signature, TS, NONCE)
    msg = parse_message(xml)
    reply = TransferCustomerServiceReply(message=msg)
    return crypto.encrypt_message(reply, "7", TS)


def check():
    out = plain()
    assert "transfer_customer_service" in out and "oUserBench0123456789" in out, out
    sealed = xmltodict.parse(safe())["xml"]
    assert sealed["MsgSignature"] == _get_signature(TOKEN, sealed["TimeStamp"], sealed["Nonce"], sealed["Encrypt"])
    opened = crypto.decrypt_message(
        {"Encrypt": sealed["Encrypt"]}, sealed["MsgSignature"], sealed["TimeStamp"], sealed["Nonce"]
    )
    assert "transfer_customer_service" in opened and "oUserBench0123456789" in opened, opened


def main():
    check()
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    import cryptography

    print(
        f"# wechatpy {wechatpy.__version__}, cryptography {cryptography.__version__}, "
        f"Python {sys.version.split()[0]}; timeit: best and median of {repeats} repeats"
    )
    for name, fn in (("plain", plain), ("safe", safe)):
        timer = timeit.Timer(fn)
        loops, _ = timer.autorange()  # enough loops for >= 0.2 s per repeat
        times = [t / loops * 1e6 for t in timer.repeat(repeat=repeats, number=loops)]
        print(f"wechatpy {name} {min(times):.2f} {statistics.median(times):.2f} {loops}x{repeats}")


if __name__ == "__main__":
    main()
