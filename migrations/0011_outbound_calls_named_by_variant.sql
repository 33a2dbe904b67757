-- An outbound call (deliveries.payload, and the body of a delivery's dead letter) is now JSON
-- named by its variant, {"custom_send": {...}}, instead of carrying a "call" member beside its
-- fields: serde reads the first without buffering the whole call, which kept ~4 KB (gzip) of
-- code out of the wasm (issue 14, bench/README.md "Size"). The stored calls are rewritten once.

UPDATE deliveries
SET payload = json_object(json_extract(payload, '$.call'), json(json_remove(payload, '$.call')))
WHERE json_valid(payload) AND json_type(payload, '$.call') = 'text';

UPDATE dead_letters
SET body = json_object(json_extract(body, '$.call'), json(json_remove(body, '$.call')))
WHERE source = 'delivery' AND json_valid(body) AND json_type(body, '$.call') = 'text';
