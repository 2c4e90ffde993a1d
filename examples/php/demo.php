<?php
// Calls scopeguard's REST port from PHP: CheckScopes, ExplainError on the
// seed case, and a rejected request with its decoded details. Run by
// scripts/e2e.sh; by hand: php examples/php/demo.php http://127.0.0.1:8080

declare(strict_types=1);

require __DIR__ . '/ScopeGuard.php';

$scopeguard = new ScopeGuard($argv[1] ?? 'http://127.0.0.1:8080');

$check = $scopeguard->checkScopes([
    'endpoints' => [
        ['method' => 'GET', 'path' => '/crm/v3/objects/contacts'],
        ['method' => 'POST', 'path' => '/crm/v3/objects/deals/search'],
    ],
    'grantedScopes' => ['crm.objects.contacts.read'],
]);
printf("allowed: %s\n", $check['allowed'] ? 'yes' : 'no');
foreach ($check['decisions'] as $decision) {
    printf("%-26s %s %s\n", $decision['verdict'], $decision['endpoint']['method'], $decision['endpoint']['path']);
}
printf("missing: %s\n", implode(' ', $check['missingScopes']));

$seed403 = json_encode([
    'status' => 'error',
    'message' => "This app hasn't been granted all required scopes to make this call.",
    'correlationId' => '0b8f3c2e-6a1d-4f5e-9c3b-2d7e8f9a1b4c',
    'errors' => [['message' => 'All of the following scopes are required.',
        'context' => ['requiredGranularScopes' => ['account-info.security.read']]]],
    'category' => 'MISSING_SCOPES',
], JSON_THROW_ON_ERROR);
$explained = $scopeguard->explainError([
    'httpStatus' => 403,
    'body' => $seed403,
    'endpoint' => ['method' => 'GET', 'path' => '/account-info/v3/activity/audit-logs'],
    'grantedScopes' => ['oauth', 'account-info.security.read'],
]);
printf("root cause: %s\n", $explained['rootCause']);
printf("first step: %s\n", $explained['remediations'][0]['action']);

try {
    $scopeguard->checkScopes(['grantedScopes' => ['oauth']]);
    fwrite(STDERR, "a CheckScopes without endpoints was accepted\n");
    exit(1);
} catch (ScopeGuardError $e) {
    printf("rejected: HTTP %d, gRPC code %d, reason %s, request id %s\n",
        $e->httpStatus, $e->getCode(), $e->reason, $e->requestId() !== '' ? 'present' : 'missing');
    foreach ($e->fieldViolations as $v) {
        printf("  %s: %s (%s)\n", $v['field'], $v['description'], $v['reason']);
    }
}
