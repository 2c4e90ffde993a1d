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
	// reHapikeyWord finds "hapikey" and "API key" in messages.
	reHapikeyWord = regexp.MustCompile(`(?i)\bhapikey\b|\bthis api key\b`)
	// rePythonStatus reads the "(401)" that starts a Python SDK exception.
	rePythonStatus = regexp.MustCompile(`\((\d{3})\)`)
	// reRubyStatus reads "HTTP status code: 401".
	reRubyStatus = regexp.MustCompile(`HTTP status code:\s*(\d{3})`)
	// reStatusPrefix reads request-promise's "429 - " prefix.
	reStatusPrefix = regexp.MustCompile(`^(\d{3}) - `)
	// reStatusPhrase reads "status code 409", "HTTP status 503", "status: 502".
	reStatusPhrase = regexp.MustCompile(`(?i)\b(?:status(?: ?code)?|http(?:-code)?|error code)\s*:?\s*([1-5]\d\d)\b`)
	// reStatusWithReason reads "502 Bad Gateway", "524: A timeout occurred".
	reStatusWithReason = regexp.MustCompile(`(?i)(?:^|[^\w.-])([1-5]\d\d):? (?:bad|service|gateway|internal|origin|web server|connection|a timeout|too many|not found|unauthorized|forbidden|conflict|locked|request|migration|uri|payload)`)
	// reTransport finds wording about timeouts and broken connections.
	reTransport = regexp.MustCompile(`(?i)timed? ?-?out|timeout|ETIMEDOUT|ECONNRESET|ECONNREFUSED|ECONNABORTED|EAI_AGAIN|socket hang up|connection (?:reset|refused|closed)|context deadline exceeded|i/o timeout|no such host`)
	// reTextCategory reads 'category': 'MISSING_SCOPES' from non-JSON renderings.
	reTextCategory = regexp.MustCompile(`['"]category['"]\s*[:=]\s*['"]([A-Z][A-Z_]{2,63})['"]`)
	// reTextCorrelation reads 'correlationId': '<uuid>' from non-JSON renderings.
	reTextCorrelation = regexp.MustCompile(`['"]correlationId['"]\s*[:=]\s*['"]([0-9a-fA-F-]{8,64})['"]`)
	// HTML pieces.
	reTitle = regexp.MustCompile(`(?is)<title[^>]*>(.{0,1000}?)</title>`)
	reH1    = regexp.MustCompile(`(?is)<h1[^>]*>(.{0,1000}?)</h1>`)
	reTag   = regexp.MustCompile(`<[^>]{0,1000}>`)
)
