package explain

import "regexp"

// Patterns for the wording HubSpot and its client libraries use. Go's
// regexp runs in linear time, so none of these can blow up on hostile input.
var (
	// reScopeList finds a bracketed scope list after a phrase that says what
	// it is: "(requires any of [a, b])", "(requires one of [leads-read])",
	// "required: [files, files.ui_hidden.read]", "missingScopes=[a, b]".
	reScopeList = regexp.MustCompile(`(?i)((?:requires?|required|missing ?scopes?|scopes?)[^\[\]\n]{0,40}?)[:=]?\s*\[([^\[\]\n]+)\]`)
	// reMissingRequiredScope reads "missing required 'x' scope".
	reMissingRequiredScope = regexp.MustCompile(`(?i)missing required '([^'\s]{1,128})' scope`)
	// reLimitPolicy reads "You have reached your ten_secondly_rolling limit."
	reLimitPolicy = regexp.MustCompile(`(?i)reached your ([a-z_]{1,40}) limit`)
	// reExpiredAgo reads "expired 5 hour(s) ago".
	reExpiredAgo = regexp.MustCompile(`(?i)expired (\d{1,15}) (second|minute|hour|day)\(?s?\)? ago`)
	// reExistingID reads "Contact already exists. Existing ID: 12345".
	reExistingID = regexp.MustCompile(`(?i)existing id:?\s*(\d{1,30})`)
	// reInferObjectType reads "Unable to infer object type from: widgets".
	reInferObjectType = regexp.MustCompile(`(?i)unable to infer object type from:?\s*(\S{1,128})`)
	// rePropertyDoesNotExist reads `Property "foo" does not exist`.
	rePropertyDoesNotExist = regexp.MustCompile(`(?i)property \\?"([^"\\]{1,256})\\?" does ?n[o']t exist`)
	// reHapikeyWord finds the wordings that say a (legacy account or
	// developer) API key was sent: "This hapikey doesn't exist.", "The API
	// key provided is invalid. View or manage your API key here: …". The
	// INVALID_AUTHENTICATION text "This API supports both API Key and OAuth
	// 2.0 authentication" does not count.
	reHapikeyWord = regexp.MustCompile(`(?i)\bhapikey\b|\bthis api key\b|\bthe api key provided\b|\binvalid api key\b|\bapi key (?:is |was )?(?:invalid|expired|revoked|deactivated|not valid)\b|\bmanage your api key\b`)
	// reAPIKeyRefused finds HubSpot's wordings for an API key it refuses,
	// in lower-case text: "This hapikey doesn't exist.", "The API key
	// provided is invalid."
	reAPIKeyRefused = regexp.MustCompile(`hapikey doesn't exist|hapikey does not exist|the api key provided is invalid|\binvalid (?:api key|hapikey)\b|\b(?:api key|hapikey) (?:is |was )?(?:invalid|expired|revoked|deactivated|not valid)\b`)
	// reCredentialsRefused finds wordings (HubSpot's and its connectors')
	// for a credential that was refused or missing, in lower-case text.
	reCredentialsRefused = regexp.MustCompile(`authentication credentials not found|credentials are missing|cannot be authorized with (?:the )?provided credentials|\binvalid (?:authentication )?credentials\b|credentials (?:are|were) (?:invalid|not valid)`)
	// reExpiresAtNow reads "This oauth-token is expired! expiresAt:
	// 1643194402611, now: 1643972072320" (milliseconds since the epoch).
	reExpiresAtNow = regexp.MustCompile(`(?i)expiresAt[":=\s]{1,4}(\d{1,16})(?:[",;\s]{1,4}now[":=\s]{1,4}(\d{1,16}))?`)
	// reMethodBefore reads a method written just before a HubSpot API URL
	// (the text up to the URL), as client libraries word their errors:
	// Guzzle's "`GET https://…`", Spring's "on GET request for
	// \"https://…\"", Feign's "[GET] to [https://…]", curl's "-X POST
	// https://…".
	reMethodBefore = regexp.MustCompile(`\b(GET|POST|PUT|PATCH|DELETE|get|post|put|patch|delete)\b[\]\s\x60"']{1,3}(?:(?:request for|to|on)\s{1,2}[\["\x60']?)?$`)
	// reAPIURL finds a URL on a HubSpot API host ("for url: https://…",
	// "effective_url=https://…", axios' "url: 'https://…'").
	reAPIURL = regexp.MustCompile(apiURL)
	// reMethodHint reads the method a logged request object names:
	// "method: 'get'", "\"method\":\"POST\"", "method=GET".
	reMethodHint = regexp.MustCompile(`^[mM]ethod['"]?\s{0,2}[:=]\s{0,2}['"]?(GET|POST|PUT|PATCH|DELETE|get|post|put|patch|delete)\b`)
	// reRequestLine reads an HTTP/1.1 request line in a dumped request:
	// "GET /crm/v3/objects/contacts?limit=10 HTTP/1.1".
	reRequestLine = regexp.MustCompile(`\b(GET|POST|PUT|PATCH|DELETE) (/[^\s"'\x60]{1,1000}) HTTP/1\.[01]\b`)
	// reInstallURL finds HubSpot's authorize (install) URL in text.
	reInstallURL = regexp.MustCompile(`https://app(?:-[a-z0-9]{1,8})?\.hubspot\.com/oauth/(?:\d{1,20}/)?authorize\?[^\s"'\x60<>]+`)
	// reStatusWord reads a status from its reason phrase alone
	// ("Error: Forbidden"), when no number is written.
	reStatusWord = regexp.MustCompile(`(?i)\b(forbidden|unauthorized|too many requests)\b`)
	// rePythonStatus reads the "(401)" that starts a Python SDK exception.
	rePythonStatus = regexp.MustCompile(`\((\d{3})\)`)
	// reRubyStatus reads "HTTP status code: 401".
	reRubyStatus = regexp.MustCompile(`HTTP status code:\s*(\d{3})`)
	// reStatusPrefix reads request-promise's "429 - " prefix.
	reStatusPrefix = regexp.MustCompile(`^(\d{3}) - `)
	// reStatusPhrase reads "status code 409", "HTTP status 503", "status: 502".
	reStatusPhrase = regexp.MustCompile(`(?i)\b(?:status(?: ?code)?|http(?:-code)?|error code)\s*:?\s*([1-5]\d\d)\b`)
	// reStatusWithReason reads "502 Bad Gateway", "524: A timeout
	// occurred", Python requests' "403 Client Error: Forbidden for url".
	reStatusWithReason = regexp.MustCompile(`(?i)(?:^|[^\w.-])([1-5]\d\d):? (?:bad|service|gateway|internal|origin|web server|connection|a timeout|too many|not found|unauthorized|forbidden|conflict|locked|request|migration|uri|payload|client error|server error)`)
	// reStatusNotSuccess reads .NET's "Response status code does not
	// indicate success: 403 (Forbidden)."
	reStatusNotSuccess = regexp.MustCompile(`(?i)does not indicate success:\s*([1-5]\d\d)\b`)
	// reTransport finds wording about timeouts and broken connections.
	reTransport = regexp.MustCompile(`(?i)timed? ?-?out|timeout|ETIMEDOUT|ECONNRESET|ECONNREFUSED|ECONNABORTED|EAI_AGAIN|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|getaddrinfo|socket hang up|connection (?:reset|refused|closed)|context deadline exceeded|i/o timeout|no such host`)
	// reTextCategory reads 'category': 'MISSING_SCOPES' from non-JSON
	// renderings (Python reprs, Node's util.inspect "category:
	// 'MISSING_SCOPES'"), on a window that starts one byte before the key.
	reTextCategory = regexp.MustCompile(`^(?:['"]category['"]|\W?category)\s*[:=]\s*['"]([A-Z][A-Z_]{2,63})['"]`)
	// reTokenExpired reads an access token's expiry said in other words
	// than HubSpot's ("access token has expired", "token expired"), in
	// lower-case text.
	reTokenExpired = regexp.MustCompile(`\b(?:access[ _]token|oauth token|bearer token|token)\s+(?:has\s+|is\s+|was\s+)?expired\b`)
	// reTextCorrelation reads 'correlationId': '<uuid>' from non-JSON
	// renderings, on a window that starts one byte before the key.
	reTextCorrelation = regexp.MustCompile(`^(?:['"]correlationId['"]|\W?correlationId)\s*[:=]\s*['"]([0-9a-fA-F-]{8,64})['"]`)
	// HTML pieces.
	reTitle = regexp.MustCompile(`(?is)<title[^>]*>(.{0,1000}?)</title>`)
	reH1    = regexp.MustCompile(`(?is)<h1[^>]*>(.{0,1000}?)</h1>`)
	reTag   = regexp.MustCompile(`<[^>]{0,1000}>`)
)

// apiURL matches a URL on a HubSpot API host (api.hubapi.com,
// api.hubspot.com, api-<hublet>.hubapi.com); group 1 is the path, without
// query or fragment.
const apiURL = `https?://api(?:-[a-z0-9]{1,8})?\.(?:hubapi|hubspot)\.com(/[^\s?#"'\x60<>\]\[)\\]{0,1000})`
