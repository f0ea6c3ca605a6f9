<?php
// Call greenrpc's Arith with nothing but fsockopen: one JSON line out, one line back per call.
$address = $argv[1] ?? "127.0.0.1:8096";
[$host, $port] = explode(":", $address);
$socket = fsockopen($host, (int)$port, $errno, $errstr, 5);
if (!$socket) {
    fwrite(STDERR, "connect $address: $errstr\n");
    exit(1);
}
stream_set_timeout($socket, 5);

function call($socket, string $method, array $args, int $id): array {
    $request = ["method" => $method, "params" => [$args], "id" => $id];
    fwrite($socket, json_encode($request) . "\n");
    $line = fgets($socket);
    if ($line === false) {
        fwrite(STDERR, "$method: no reply\n");
        exit(1);
    }
    return json_decode($line, true);
}

$reply = call($socket, "Arith.Multiply", ["A" => 7, "B" => 8], 1);
echo "Arith.Multiply: 7*8=" . $reply["result"]["Pro"] . "\n";
$reply = call($socket, "Arith.Divide", ["A" => 17, "B" => 5], 2);
echo "Arith.Divide: 17/5=" . $reply["result"]["Quo"] . " remainder " . $reply["result"]["Rem"] . "\n";
$reply = call($socket, "Arith.Divide", ["A" => 1, "B" => 0], 3);
echo "Arith.Divide: 1/0 failed: " . $reply["error"] . "\n";
fclose($socket);
