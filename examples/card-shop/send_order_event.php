<?php
// Sends one card-shop order event to kefu-edge, signed with the webhook secret (no extensions
// needed). In a PHP card shop (dujiaoka and the like), call kefu_send_order_event() where the
// order changes state.
//   php send_order_event.php https://<your-worker>/hooks/orders "$ORDER_WEBHOOK_SECRET" event.json
// Returns [HTTP status, answer]. Retry on 5xx or a network error with the same event "id":
// kefu-edge stores each event id once.

function kefu_send_order_event(string $url, string $secret, string $body): array
{
    $timestamp = (string) time();
    $signature = hash_hmac('sha256', $timestamp . '.' . $body, $secret);
    $context = stream_context_create(['http' => [
        'method' => 'POST',
        'protocol_version' => 1.1,
        'header' => "Content-Type: application/json\r\n"
            . "Connection: close\r\n"
            . "X-Kefu-Timestamp: $timestamp\r\n"
            . "X-Kefu-Signature: sha256=$signature\r\n",
        'content' => $body,
        'timeout' => 10,
        'ignore_errors' => true,
    ]]);
    $answer = @file_get_contents($url, false, $context);
    if ($answer === false) {
        return [0, 'network error'];
    }
    preg_match('#^HTTP/\S+ (\d{3})#', $http_response_header[0] ?? '', $m);
    return [(int) ($m[1] ?? 0), $answer];
}

if (PHP_SAPI === 'cli' && realpath($argv[0]) === __FILE__) {
    $body = file_get_contents($argv[3] ?? 'php://stdin');
    [$status, $answer] = kefu_send_order_event($argv[1], $argv[2], $body);
    echo $answer, PHP_EOL;
    exit($status >= 200 && $status < 300 ? 0 : 1);
}
