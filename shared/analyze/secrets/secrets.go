package secrets

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/forensic-tools/forensic/shared/analyze/content"
)

// Severities, from the most to the least urgent.
const (
	Critical = "critical"
	High     = "high"
	Medium   = "medium"
	Low      = "low"
)

// Match is one secret found.
type Match struct {
	// Rule identifies the kind of secret, e.g. "aws-access-key-id".
	Rule string
	// Description says what it is in words.
	Description string
	Severity    string
	// Line is the 1-based line of the match, 0 when not line-based.
	Line int
	// Key is the variable or field name the value was assigned to, if any.
	Key string
	// Value is the secret in clear.
	Value string
	// prefix is how many leading characters of Value are a public,
	// format-identifying prefix (such as "AKIA") that Mask keeps.
	prefix int
}

// Masked returns the value with its secret part replaced by asterisks:
// a known public prefix (such as "ghp_") and, for long values, the last
// four characters stay, so that the secret can be recognised but not used.
func (m Match) Masked() string {
	if m.Rule == RulePrivateKey {
		first, _, _ := strings.Cut(m.Value, "\n")
		return strings.TrimSpace(first) + " ..."
	}
	return mask(m.Value, m.prefix)
}

func mask(v string, prefix int) string {
	n := len(v)
	tail := 0
	if n-prefix >= 24 {
		tail = 4
	}
	if prefix+tail >= n {
		prefix, tail = 0, 0
	}
	stars := min(n-prefix-tail, 12)
	return v[:prefix] + strings.Repeat("*", stars) + v[n-tail:]
}

// Fingerprint is a short hash of the value, "sha256:" and 16 hex digits,
// for values long enough (16 characters) that it cannot be brute-forced;
// empty otherwise.
func (m Match) Fingerprint() string {
	if len(m.Value) < 16 {
		return ""
	}
	s := sha256.Sum256([]byte(m.Value))
	return "sha256:" + hex.EncodeToString(s[:8])
}

// Rules.
const (
	RulePrivateKey      = "private-key"
	RuleAWSAccessKeyID  = "aws-access-key-id"
	RuleAWSSecretKey    = "aws-secret-access-key"
	RuleGCPAPIKey       = "gcp-api-key"
	RuleGitHubToken     = "github-token"
	RuleGitLabToken     = "gitlab-token"
	RuleSlackToken      = "slack-token"
	RuleSlackWebhook    = "slack-webhook"
	RuleStripeKey       = "stripe-live-key"
	RuleNPMToken        = "npm-token"
	RulePyPIToken       = "pypi-token"
	RuleJWT             = "jwt"
	RuleURLCredentials  = "url-credentials"
	RuleDockerAuth      = "docker-registry-auth"
	RuleAzureStorageKey = "azure-storage-key"
	RulePasswordHash    = "password-hash"
	RulePassword        = "password-assignment"
	RuleToken           = "secret-assignment"
	RuleHighEntropy     = "high-entropy-value"
)

// pattern is a rule found by a fixed anchor and then a regular expression
// matched at the anchor.
type pattern struct {
	rule, desc, severity string
	anchors              []string
	re                   *regexp.Regexp // anchored at the anchor's position (starts with ^)
	prefix               int
	// boundary requires that no letter or digit precedes the match.
	boundary bool
	// pre, when set, is a cheap test the text after the anchor must pass
	// before the expression runs.
	pre func(after []byte) bool
}

// userinfo reports whether a URL's authority, after "://", holds an "@".
func userinfo(after []byte) bool {
	for i, c := range after[3:min(len(after), 3+200)] {
		switch c {
		case '@':
			return i > 0
		case '/', ' ', '\t', '\n', '\r', '"', '\'', '<', '>':
			return false
		}
	}
	return false
}

var patterns = []pattern{
	{rule: RuleAWSAccessKeyID, desc: "AWS access key ID", severity: High, anchors: []string{"AKIA", "ASIA", "ABIA", "ACCA"},
		re: regexp.MustCompile(`^(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b`), prefix: 4, boundary: true},
	{rule: RuleGCPAPIKey, desc: "Google API key", severity: High, anchors: []string{"AIza"},
		re: regexp.MustCompile(`^AIza[0-9A-Za-z_\-]{35}`), prefix: 4, boundary: true},
	{rule: RuleGitHubToken, desc: "GitHub token", severity: High, anchors: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"},
		re: regexp.MustCompile(`^gh[pousr]_[A-Za-z0-9]{36,251}`), prefix: 4, boundary: true},
	{rule: RuleGitHubToken, desc: "GitHub fine-grained token", severity: High, anchors: []string{"github_pat_"},
		re: regexp.MustCompile(`^github_pat_[A-Za-z0-9_]{22,244}`), prefix: 11, boundary: true},
	{rule: RuleGitLabToken, desc: "GitLab personal access token", severity: High, anchors: []string{"glpat-"},
		re: regexp.MustCompile(`^glpat-[A-Za-z0-9_\-]{20,}`), prefix: 6, boundary: true},
	{rule: RuleSlackToken, desc: "Slack token", severity: High, anchors: []string{"xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-"},
		re: regexp.MustCompile(`^xox[bpares]-[A-Za-z0-9\-]{10,}`), prefix: 5, boundary: true},
	{rule: RuleSlackWebhook, desc: "Slack incoming webhook", severity: Medium, anchors: []string{"hooks.slack.com/services/"},
		re: regexp.MustCompile(`^hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}`), prefix: 26},
	{rule: RuleStripeKey, desc: "Stripe live key", severity: High, anchors: []string{"sk_live_", "rk_live_"},
		re: regexp.MustCompile(`^[sr]k_live_[0-9a-zA-Z]{20,}`), prefix: 8, boundary: true},
	{rule: RuleNPMToken, desc: "npm access token", severity: High, anchors: []string{"npm_"},
		re: regexp.MustCompile(`^npm_[A-Za-z0-9]{36}\b`), prefix: 4, boundary: true},
	{rule: RulePyPIToken, desc: "PyPI upload token", severity: High, anchors: []string{"pypi-AgE"},
		re: regexp.MustCompile(`^pypi-AgE[A-Za-z0-9_\-]{50,}`), prefix: 5, boundary: true},
	{rule: RuleJWT, desc: "JSON Web Token", severity: Medium, anchors: []string{"eyJ"},
		re: regexp.MustCompile(`^eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}`), prefix: 3, boundary: true},
	{rule: RuleAzureStorageKey, desc: "Azure storage account key", severity: High, anchors: []string{"AccountKey="},
		re: regexp.MustCompile(`^AccountKey=([A-Za-z0-9+/]{86}==)`), prefix: 11},
	{rule: RuleURLCredentials, desc: "password in a URL", severity: Medium, anchors: []string{"://"},
		re: regexp.MustCompile(`^://[^\s:@/"'<>]{1,64}:([^\s:@/"'<>]{3,128})@[A-Za-z0-9.\-\[\]]+`), pre: userinfo},
	{rule: RuleDockerAuth, desc: "registry credentials (docker config auth)", severity: High, anchors: []string{`"auth"`},
		re: regexp.MustCompile(`^"auth"\s*:\s*"([A-Za-z0-9+/=]{8,})"`)},
}

var (
	privateKeyRe = regexp.MustCompile(`^-----BEGIN ((?:RSA |DSA |EC |OPENSSH |ENCRYPTED |PGP |SSH2 ENCRYPTED )?PRIVATE KEY(?: BLOCK)?)-----`)
	shadowRe     = regexp.MustCompile(`^([^:\s]+):(!?\$[^:]+):`)
)

// maxPerScan bounds the matches of one scan, so that a file full of keys
// does not flood the report.
const maxPerScan = 50

// scanner collects matches of one text, without repeats.
type scanner struct {
	data []byte
	// netrc is set for .netrc-like files, where "password VALUE" is the syntax.
	netrc bool
	lines []int // offsets of line starts, computed on demand
	out   []Match
	seen  map[string]bool
}

func (s *scanner) add(m Match, off int) {
	if len(s.out) >= maxPerScan {
		return
	}
	if m.Rule == RulePassword || m.Rule == RuleToken || m.Rule == RuleHighEntropy {
		// A value already found by its format is not reported again
		// because of the name it was assigned to.
		for _, o := range s.out {
			if strings.Contains(m.Value, o.Value) || strings.Contains(o.Value, m.Value) {
				return
			}
		}
	}
	k := m.Rule + "\x00" + m.Value
	if s.seen[k] {
		return
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[k] = true
	if off >= 0 {
		m.Line = s.line(off)
	}
	s.out = append(s.out, m)
}

func (s *scanner) line(off int) int {
	if s.lines == nil {
		s.lines = []int{0}
		for i, c := range s.data {
			if c == '\n' {
				s.lines = append(s.lines, i+1)
			}
		}
	}
	lo, hi := 0, len(s.lines)
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if s.lines[mid] <= off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + 1
}

// anchorIndex maps the first two bytes of every anchor to the patterns
// (and anchors) that start with them; bigrams is the same set as a bitset
// for the scanning loop. One pass over the text finds every anchor: a
// pass per anchor with bytes.Index costs several times more on text where
// their first letters are common.
var (
	anchorIndex = map[uint16][]anchorRef{}
	bigrams     [1 << 16 / 64]uint64
)

type anchorRef struct {
	anchor string
	p      int // index into patterns; -1 for the private-key rule
}

const beginMarker = "-----BEGIN "

func init() {
	add := func(a string, p int) {
		k := uint16(a[0])<<8 | uint16(a[1])
		anchorIndex[k] = append(anchorIndex[k], anchorRef{a, p})
		bigrams[k>>6] |= 1 << (k & 63)
	}
	add(beginMarker, -1)
	for pi, p := range patterns {
		for _, a := range p.anchors {
			add(a, pi)
		}
	}
}

// patterns runs the anchored patterns and the private-key rule.
func (s *scanner) patterns() {
	data := s.data
	for i := 0; i+1 < len(data); i++ {
		k := uint16(data[i])<<8 | uint16(data[i+1])
		if bigrams[k>>6]&(1<<(k&63)) == 0 {
			continue
		}
		for _, ref := range anchorIndex[k] {
			if !bytes.HasPrefix(data[i:], []byte(ref.anchor)) {
				continue
			}
			if ref.p < 0 {
				if m := privateKeyRe.FindSubmatch(data[i:min(len(data), i+80)]); m != nil {
					s.add(privateKey(data[i:], string(m[1])), i)
				}
				continue
			}
			p := &patterns[ref.p]
			if p.boundary && i > 0 && isWord(data[i-1]) {
				continue
			}
			if p.pre != nil && !p.pre(data[i:]) {
				continue
			}
			m := p.re.FindSubmatch(data[i:min(len(data), i+512)])
			if m == nil {
				continue
			}
			v := string(m[0])
			if len(m) > 1 {
				v = string(m[1])
			}
			if p.rule == RuleURLCredentials && placeholder(v) {
				continue
			}
			s.add(Match{Rule: p.rule, Description: p.desc, Severity: p.severity, Value: v, prefix: p.prefix}, i)
		}
	}
}

func isWord(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// privateKey makes the match for a PEM block starting at data, telling
// encrypted keys (still worth knowing about, less urgent) from usable ones.
func privateKey(data []byte, label string) Match {
	end := bytes.Index(data, []byte("-----END "))
	block := data
	if end >= 0 {
		if nl := bytes.IndexAny(data[end+9:], "-\n"); nl >= 0 {
			end += 9 + nl
			for end < len(data) && data[end] == '-' {
				end++
			}
		}
		block = data[:end]
	}
	if len(block) > 16<<10 {
		block = block[:16<<10]
	}
	m := Match{Rule: RulePrivateKey, Description: strings.ToLower(label), Severity: Critical, Value: string(block)}
	if encryptedKey(block, label) {
		m.Severity = Medium
		m.Description = "passphrase-protected " + m.Description
	}
	return m
}

func encryptedKey(block []byte, label string) bool {
	switch {
	case strings.Contains(label, "ENCRYPTED"):
		return true
	case bytes.Contains(block, []byte("Proc-Type: 4,ENCRYPTED")):
		return true
	case label == "OPENSSH PRIVATE KEY":
		// The body is "openssh-key-v1\0" and then the cipher name as a
		// length-prefixed string: "none" for an unprotected key.
		nl := bytes.IndexByte(block, '\n')
		if nl < 0 {
			return false
		}
		b64 := bytes.Map(func(r rune) rune {
			if r == '\n' || r == '\r' || r == ' ' {
				return -1
			}
			return r
		}, block[nl+1:min(len(block), nl+1+200)])
		raw := make([]byte, base64.StdEncoding.DecodedLen(len(b64)))
		n, _ := base64.StdEncoding.Decode(raw, b64[:len(b64)/4*4])
		raw = raw[:n]
		const magic = "openssh-key-v1\x00"
		if !bytes.HasPrefix(raw, []byte(magic)) || len(raw) < len(magic)+8 {
			return false
		}
		return !bytes.HasPrefix(raw[len(magic):], []byte("\x00\x00\x00\x04none"))
	}
	return false
}

// Text scans the content of a file. name is its path; configuration-like
// files (by name) are also searched for secrets assigned to variables
// with telling names, and /etc/shadow for password hashes.
func Text(name string, data []byte) []Match {
	s := &scanner{data: data}
	s.patterns()
	switch {
	case name == "/etc/shadow" || name == "/etc/gshadow":
		s.shadow()
	case configLike(name):
		base := path.Base(name)
		s.netrc = base == ".netrc" || base == "_netrc" || base == ".authinfo"
		s.assignments()
	}
	return s.out
}

// wordLike reports short values of lower-case letters only, such as
// "files" in nsswitch.conf's "passwd: files": in files, names like
// "passwd" often name a thing rather than hold a password.
func wordLike(v string) bool {
	if len(v) >= 12 {
		return false
	}
	for _, c := range v {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// Log scans a log or other free text: patterns and assignments.
func Log(data []byte) []Match {
	s := &scanner{data: data}
	s.patterns()
	s.assignments()
	return s.out
}

func (s *scanner) shadow() {
	off := 0
	for _, line := range bytes.SplitAfter(s.data, []byte("\n")) {
		if m := shadowRe.FindSubmatch(line); m != nil {
			sev := Medium
			if string(m[1]) == "root" {
				sev = High
			}
			s.add(Match{Rule: RulePasswordHash, Description: "password hash of account " + string(m[1]), Severity: sev,
				Key: string(m[1]), Value: string(m[2]), prefix: hashPrefix(string(m[2]))}, off)
		}
		off += len(line)
	}
}

// hashPrefix keeps the crypt(3) method, such as "$6$", visible.
func hashPrefix(h string) int {
	h2 := strings.TrimPrefix(h, "!")
	if !strings.HasPrefix(h2, "$") {
		return 0
	}
	if i := strings.IndexByte(h2[1:], '$'); i >= 0 {
		return len(h) - len(h2) + i + 2
	}
	return 0
}

// configNames are base names, and configExts extensions, of files where
// "password = x" means a password and not a variable of some program.
var (
	configNames = map[string]bool{
		".env": true, ".netrc": true, "_netrc": true, ".npmrc": true, ".pypirc": true, ".git-credentials": true,
		".pgpass": true, ".my.cnf": true, "credentials": true, "config": true, ".dockercfg": true, "dockerfile": true,
		".bash_history": true, ".ash_history": true, ".zsh_history": true, ".sh_history": true, ".mysql_history": true,
		".psql_history": true, ".python_history": true, "wp-config.php": true, "settings.py": true, "local_settings.py": true,
		".htpasswd": true, "environment": true, ".s3cfg": true, ".boto": true, "kubeconfig": true, ".gitconfig": true,
	}
	configExts = map[string]bool{
		".env": true, ".conf": true, ".cfg": true, ".cnf": true, ".ini": true, ".properties": true, ".yaml": true,
		".yml": true, ".json": true, ".toml": true, ".xml": true, ".config": true, ".sh": true, ".bash": true,
		".tfvars": true, ".tfstate": true, ".secret": true, ".secrets": true, ".credentials": true, ".txt": true,
	}
)

func configLike(name string) bool {
	base := strings.ToLower(path.Base(name))
	if configNames[base] || strings.HasPrefix(base, ".env.") || strings.HasPrefix(base, "docker-compose") {
		return true
	}
	return configExts[path.Ext(base)]
}

// keyword tells a variable name that holds a secret, and which kind.
var keywordRe = regexp.MustCompile(`(?i)(secret[_\-.]?access[_\-.]?key|passw(?:or)?d|passwd|pwd|pass|secret|token|api[_\-.]?key|access[_\-.]?key|private[_\-.]?key|credentials?|auth)`)

// assignRe finds "name = value", "name: value", "name := value",
// "name => value", "\"name\": \"value\"" and "export NAME=value" on a line.
var assignRe = regexp.MustCompile(`(?i)(?:^|[\s{,;(&|])(?:export\s+|set\s+|--)?["']?([A-Za-z_][A-Za-z0-9_.\-]{0,80})["']?\s*(?:=>|:=|=|:)\s*(?:"([^"\n]{1,512})"|'([^'\n]{1,512})'|([^\s"'#;,<>(){}\[\]]{1,512}))`)

// netrcRe finds "password VALUE" as .netrc and similar files write it.
var netrcRe = regexp.MustCompile(`(?:^|\s)(password|passwd)\s+(\S+)`)

var hintWords = [][]byte{[]byte("pass"), []byte("pwd"), []byte("secret"), []byte("token"), []byte("key"), []byte("auth"), []byte("cred")}

func (s *scanner) assignments() {
	// Lines are only parsed when they hold a hint word: the hints are found
	// in a lower-cased copy of the text, one pass per word.
	lower := make([]byte, len(s.data))
	copy(lower, s.data)
	asciiLower(lower)
	var starts []int
	for _, w := range hintWords {
		for i := 0; ; {
			j := bytes.Index(lower[i:], w)
			if j < 0 {
				break
			}
			at := i + j
			start := bytes.LastIndexByte(s.data[:at], '\n') + 1
			starts = append(starts, start)
			end := bytes.IndexByte(s.data[at:], '\n')
			if end < 0 {
				break
			}
			i = at + end + 1
		}
	}
	slices.Sort(starts)
	starts = slices.Compact(starts)
	for _, lineOff := range starts {
		if len(s.out) >= maxPerScan {
			return
		}
		line := s.data[lineOff:]
		if nl := bytes.IndexByte(line, '\n'); nl >= 0 {
			line = line[:nl+1]
		}
		if len(line) > 4096 {
			continue
		}
		for _, m := range assignRe.FindAllSubmatchIndex(line, -1) {
			key := string(line[m[2]:m[3]])
			v := ""
			for g := 4; g < 10; g += 2 {
				if m[g] >= 0 {
					v = string(line[m[g]:m[g+1]])
					break
				}
			}
			if mt, ok := Assignment(key, v); ok && !(mt.Rule == RulePassword && wordLike(mt.Value)) {
				s.add(mt, lineOff)
			}
		}
		if s.netrc || bytes.Contains(line, []byte("machine ")) {
			if m := netrcRe.FindSubmatch(line); m != nil {
				if mt, ok := Assignment(string(m[1]), string(m[2])); ok {
					s.add(mt, lineOff)
				}
			}
		}
	}
}

func asciiLower(b []byte) {
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}

// Assignment judges a value assigned to a variable or field named key: a
// match when the name tells a secret and the value looks like a real one
// (not empty, not a placeholder, not a reference to another variable, not
// a file path).
func Assignment(key, value string) (Match, bool) {
	kw := keywordRe.FindString(key)
	if kw == "" {
		return Match{}, false
	}
	lk := strings.ToLower(key)
	for _, suffix := range []string{"_file", "_path", "_dir", "_url", "_uri", "_name", "_type", "_id", "_length", "_len", "_min", "_max", "_prompt", "_mode", "_policy", "_endpoint", "_header", "_timeout", "_ttl", "_expiry", "_enabled", "_method", "_command", "_cmd", "_env", "_hash"} {
		if strings.HasSuffix(lk, suffix) {
			return Match{}, false
		}
	}
	if strings.Contains(lk, "public") || strings.HasPrefix(lk, "no_") || lk == "author" || strings.Contains(lk, "authority") || strings.Contains(lk, "passenger") || strings.Contains(lk, "compass") || strings.Contains(lk, "bypass") {
		return Match{}, false
	}
	value = strings.TrimSpace(value)
	if placeholder(value) {
		return Match{}, false
	}
	kwl := strings.ToLower(kw)
	bits := content.StringBits(value)
	m := Match{Key: key, Value: value}
	switch {
	case strings.HasPrefix(kwl, "secret") && strings.Contains(kwl, "access") && len(value) == 40:
		m.Rule, m.Description, m.Severity = RuleAWSSecretKey, "AWS secret access key", Critical
	case strings.HasPrefix(kwl, "pass") || kwl == "pwd":
		m.Rule, m.Description, m.Severity = RulePassword, "password", Medium
		if bits >= 3.5 && len(value) >= 12 {
			m.Severity = High
		}
	default:
		if len(value) < 8 {
			return Match{}, false
		}
		m.Rule, m.Description, m.Severity = RuleToken, strings.ToLower(kw)+" value", Medium
		if bits >= 3.5 && len(value) >= 16 {
			m.Severity = High
		} else if bits < 2.5 {
			return Match{}, false
		}
	}
	return m, true
}

var placeholders = map[string]bool{
	"password": true, "passwd": true, "secret": true, "token": true, "null": true, "nil": true, "none": true,
	"true": true, "false": true, "yes": true, "no": true, "example": true, "redacted": true,
	"your_password": true, "yourpassword": true, "mypassword": true, "<password>": true, "undefined": true,
	"required": true, "optional": true, "string": true, "empty": true, "default": true, "xxx": true, "dummy": true,
	"test": true, "foo": true, "bar": true, "secret_key": true, "api_key": true, "apikey": true, "off": true, "on": true,
}

// placeholder reports values that are not secrets: empty, references to
// other variables or templates, masked, file paths, or stock words.
func placeholder(v string) bool {
	lv := strings.ToLower(strings.Trim(v, `"'`))
	if len(lv) < 4 || placeholders[lv] {
		return true
	}
	switch lv[0] {
	case '$', '%', '{', '<', '*', '/', '~', '@', '&', '(', '[', '.':
		return true
	}
	if strings.Contains(lv, "${") || strings.Contains(lv, "{{") || strings.Contains(lv, "$(") || strings.Contains(lv, "%(") {
		return true
	}
	if strings.Trim(lv, "x*•#.-_0") == "" {
		return true
	}
	if strings.HasPrefix(lv, "os.") || strings.HasPrefix(lv, "env") || strings.HasPrefix(lv, "process.") || strings.HasPrefix(lv, "self.") || strings.HasPrefix(lv, "request") || strings.HasPrefix(lv, "config.") || strings.HasPrefix(lv, "settings.") || strings.HasPrefix(lv, "get") {
		return true
	}
	if strings.Contains(lv, "example") || strings.Contains(lv, "changeme") && len(lv) < 10 || strings.Contains(lv, "placeholder") {
		return true
	}
	return false
}

// Env scans one environment entry, "NAME=value", as an image config or a
// container holds it.
func Env(kv string) []Match {
	name, value, _ := strings.Cut(kv, "=")
	s := &scanner{data: []byte(value)}
	s.patterns()
	if m, ok := Assignment(name, value); ok {
		s.add(m, -1)
	} else if len(s.out) == 0 && highEntropy(name, value) {
		s.add(Match{Rule: RuleHighEntropy, Description: "random-looking value", Severity: Low, Key: name, Value: value}, -1)
	}
	for i := range s.out {
		s.out[i].Line = 0
		if s.out[i].Key == "" {
			s.out[i].Key = name
		}
	}
	return s.out
}

// highEntropy flags long random values of variables not known to hold
// checksums or versions. Hexadecimal strings (at most 4 bits per
// character) stay below the threshold, so digests are not reported.
func highEntropy(name, value string) bool {
	if len(value) < 20 || strings.ContainsAny(value, " \t/:") {
		return false
	}
	un := strings.ToUpper(name)
	for _, s := range []string{"SHA", "SUM", "HASH", "DIGEST", "VERSION", "CHECKSUM", "GPG", "FINGERPRINT", "PATH"} {
		if strings.Contains(un, s) {
			return false
		}
	}
	return content.StringBits(value) >= 4.2
}

// Command scans a build command, such as an image history's created_by
// ("/bin/sh -c #(nop) ENV TOKEN=x", "|1 PASSWORD=x /bin/sh -c ...",
// "RUN curl -u user:pass ..."): patterns, NAME=value words, and
// --password/--token options followed by their value.
func Command(cmd string) []Match {
	s := &scanner{data: []byte(cmd)}
	s.patterns()
	words := strings.Fields(cmd)
	for i, w := range words {
		w = strings.Trim(w, `;&|"'`)
		if k, v, ok := strings.Cut(w, "="); ok {
			if m, ok := Assignment(strings.TrimLeft(k, "-"), strings.Trim(v, `"'`)); ok {
				s.add(m, -1)
			}
			continue
		}
		if strings.HasPrefix(w, "--") && i+1 < len(words) {
			if m, ok := Assignment(strings.TrimLeft(w, "-"), strings.Trim(words[i+1], `"'`)); ok {
				s.add(m, -1)
			}
		}
	}
	for i := range s.out {
		s.out[i].Line = 0
	}
	return s.out
}
