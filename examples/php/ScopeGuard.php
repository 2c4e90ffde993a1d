<?php
// A small PHP client for scopeguard's REST port (--http-listen), on php-curl.
// Requests and responses are proto JSON as PHP arrays (lowerCamelCase
// fields, enums by name); the routes and schemas are in GET /openapi.yaml.
// Errors are thrown as ScopeGuardError, decoded from the google.rpc.Status
// body and its details (ErrorInfo, BadRequest, RetryInfo).

declare(strict_types=1);

/** A failed call: the HTTP status, the gRPC status and its details. */
final class ScopeGuardError extends RuntimeException
{
    /** @var array<string,string> google.rpc.ErrorInfo.metadata, e.g. request_id, violations. */
    public array $metadata = [];
    /** @var list<array{field:string,description:string,reason:string}> google.rpc.BadRequest violations. */
    public array $fieldViolations = [];
    /** google.rpc.ErrorInfo.reason, e.g. "INVALID_REQUEST"; "" without ErrorInfo. Branch on this. */
    public string $reason = '';
    /** google.rpc.ErrorInfo.domain: "scopeguard" for the server's errors. */
    public string $domain = '';
    /** google.rpc.RetryInfo.retryDelay in seconds; null without RetryInfo. */
    public ?float $retryDelay = null;

    /**
     * @param int $httpStatus the HTTP status (400, 404, 429, 503, ...)
     * @param array<string,mixed> $status the google.rpc.Status: code (the gRPC code number), message, details
     */
    public function __construct(public readonly int $httpStatus, public readonly array $status)
    {
        parent::__construct((string)($status['message'] ?? 'HTTP ' . $httpStatus), (int)($status['code'] ?? 2));
        foreach ($status['details'] ?? [] as $detail) {
            switch ($detail['@type'] ?? '') {
                case 'type.googleapis.com/google.rpc.ErrorInfo':
                    $this->reason = (string)($detail['reason'] ?? '');
                    $this->domain = (string)($detail['domain'] ?? '');
                    $this->metadata = $detail['metadata'] ?? [];
                    break;
                case 'type.googleapis.com/google.rpc.BadRequest':
                    foreach ($detail['fieldViolations'] ?? [] as $v) {
                        $this->fieldViolations[] = [
                            'field' => (string)($v['field'] ?? ''),
                            'description' => (string)($v['description'] ?? ''),
                            'reason' => (string)($v['reason'] ?? ''),
                        ];
                    }
                    break;
                case 'type.googleapis.com/google.rpc.RetryInfo':
                    // A google.protobuf.Duration in JSON: "1.500s".
                    $this->retryDelay = (float)rtrim((string)($detail['retryDelay'] ?? '0s'), 's');
                    break;
            }
        }
    }

    /** The id the server logged the call under ("" if it sent none). */
    public function requestId(): string
    {
        return $this->metadata['request_id'] ?? '';
    }
}

/** Calls scopeguard's REST routes. */
final class ScopeGuard
{
    /**
     * @param string $baseUrl the HTTP port, e.g. "http://127.0.0.1:8080"
     * @param int $timeoutSeconds the whole call's timeout
     */
    public function __construct(private readonly string $baseUrl, private readonly int $timeoutSeconds = 10)
    {
    }

    /** @param array<string,mixed> $request @return array<string,mixed> */
    public function checkScopes(array $request): array
    {
        return $this->post('/v1/scopes:check', $request);
    }

    /** @param array<string,mixed> $request @return array<string,mixed> */
    public function explainError(array $request): array
    {
        return $this->post('/v1/errors:explain', $request);
    }

    /** @param array<string,mixed> $request @return array<string,mixed> */
    public function planScopes(array $request): array
    {
        return $this->post('/v1/scopes:plan', $request);
    }

    /** @param array<string,mixed> $request @return array<string,mixed> */
    public function refreshToken(array $request): array
    {
        return $this->post('/v1/tokens:refresh', $request);
    }

    /** @param array<string,mixed> $request @return array<string,mixed> */
    private function post(string $route, array $request): array
    {
        $curl = curl_init(rtrim($this->baseUrl, '/') . $route);
        curl_setopt_array($curl, [
            CURLOPT_POST => true,
            // (object) keeps an empty request a JSON object, {}.
            CURLOPT_POSTFIELDS => json_encode((object)$request, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES),
            CURLOPT_HTTPHEADER => ['Content-Type: application/json', 'Accept: application/json'],
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_TIMEOUT => $this->timeoutSeconds,
        ]);
        $body = curl_exec($curl);
        $httpStatus = (int)curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        $curlError = curl_error($curl);
        curl_close($curl);
        if ($body === false) {
            throw new ScopeGuardError(0, ['code' => 14, 'message' => 'scopeguard unreachable: ' . $curlError]);
        }
        $decoded = json_decode($body, true);
        if (!is_array($decoded)) {
            throw new ScopeGuardError($httpStatus, ['code' => 2, 'message' => "HTTP $httpStatus: " . substr($body, 0, 200)]);
        }
        if ($httpStatus !== 200) {
            throw new ScopeGuardError($httpStatus, $decoded);
        }
        return $decoded;
    }
}
