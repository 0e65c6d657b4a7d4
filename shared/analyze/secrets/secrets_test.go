package secrets

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Test values are built from pieces so that this file itself does not
// look like it leaks credentials to scanners.
var (
	awsID     = "AKIA" + "IOSFODNN7" + "EXAMPLQ"
	awsSecret = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzzzzzzzzzz"
	ghToken   = "ghp_" + "Zq8v2LmN4pR7tY1wX3cB6dF9gH0jK5sQ7uE2"
	rsaKey    = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1234\nabcd\n-----END RSA PRIVATE KEY-----\n"
	encKey    = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nabcd\n-----END RSA PRIVATE KEY-----\n"
	// An OpenSSH key whose cipher is "none" (unprotected) and one with aes256-ctr.
	sshPlain = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n"
	sshEnc   = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABD\n-----END OPENSSH PRIVATE KEY-----\n"
)

type got struct {
	Rule, Severity, Key, Masked string
	Line                        int
}

func summarize(ms []Match) []got {
	var out []got
	for _, m := range ms {
		out = append(out, got{Rule: m.Rule, Severity: m.Severity, Key: m.Key, Masked: m.Masked(), Line: m.Line})
	}
	return out
}

func TestText(t *testing.T) {
	tests := []struct {
		name, path, data string
		want             []got
	}{
		{"aws pair in credentials", "/root/.aws/credentials",
			"[default]\naws_access_key_id = " + awsID + "\naws_secret_access_key = " + awsSecret + "\n",
			[]got{
				{Rule: RuleAWSAccessKeyID, Severity: High, Masked: "AKIA************", Line: 2},
				{Rule: RuleAWSSecretKey, Severity: Critical, Key: "aws_secret_access_key", Masked: mask(awsSecret, 0), Line: 3},
			}},
		{"rsa key", "/root/.ssh/id_rsa", rsaKey,
			[]got{{Rule: RulePrivateKey, Severity: Critical, Masked: "-----BEGIN RSA PRIVATE KEY----- ...", Line: 1}}},
		{"encrypted key", "/k.pem", "x\n" + encKey,
			[]got{{Rule: RulePrivateKey, Severity: Medium, Masked: "-----BEGIN RSA PRIVATE KEY----- ...", Line: 2}}},
		{"openssh plain", "/id", sshPlain, []got{{Rule: RulePrivateKey, Severity: Critical, Masked: "-----BEGIN OPENSSH PRIVATE KEY----- ...", Line: 1}}},
		{"openssh encrypted", "/id", sshEnc, []got{{Rule: RulePrivateKey, Severity: Medium, Masked: "-----BEGIN OPENSSH PRIVATE KEY----- ...", Line: 1}}},
		{"public key is fine", "/id.pub", "-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----\n", nil},
		{"github token in source", "/app/main.py", "TOKEN = '" + ghToken + "'\n",
			[]got{{Rule: RuleGitHubToken, Severity: High, Masked: mask(ghToken, 4), Line: 1}}},
		{"password in source is not judged", "/app/db.py", "password = 'hunter22'\n", nil},
		{"password in env file", "/app/.env", "DB_HOST=db\nDB_PASSWORD=hunter22\n",
			[]got{{Rule: RulePassword, Severity: Medium, Key: "DB_PASSWORD", Masked: "********", Line: 2}}},
		{"placeholders skipped", "/etc/app.conf", "password=${DB_PASSWORD}\ntoken: <token>\nsecret = changeme\npassword_file=/run/secrets/db\n", nil},
		{"yaml token", "/etc/app.yaml", "api:\n  api_key: \"Zq8v2LmN4pR7tY1wX3cB6dF9\"\n",
			[]got{{Rule: RuleToken, Severity: High, Key: "api_key", Masked: mask("Zq8v2LmN4pR7tY1wX3cB6dF9", 0), Line: 2}}},
		{"netrc", "/root/.netrc", "machine example.org login bob password s3cr3tPw\n",
			[]got{{Rule: RulePassword, Severity: Medium, Key: "password", Masked: "********", Line: 1}}},
		{"url credentials", "/etc/apt/auth.conf", "deb https://bob:tr0ub4dor@repo.internal/debian stable main\n",
			[]got{{Rule: RuleURLCredentials, Severity: Medium, Masked: "*********", Line: 1}}},
		{"url with placeholder", "/x.conf", "url=https://user:${PASS}@host/\n", nil},
		{"shadow", "/etc/shadow", "root:$6$salt$abcdefghijkl:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nbob:!:19000::::::\n",
			[]got{{Rule: RulePasswordHash, Severity: High, Key: "root", Masked: "$6$" + strings.Repeat("*", 12), Line: 1}}},
		{"docker auth", "/root/.docker/config.json", `{"auths":{"r.example":{"auth":"Ym9iOnMzY3IzdA=="}}}`,
			[]got{{Rule: RuleDockerAuth, Severity: High, Masked: mask("Ym9iOnMzY3IzdA==", 0), Line: 1}}},
		{"not an aws id inside a word", "/x", "XAKIA" + awsID[4:] + "\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, summarize(Text(tt.path, []byte(tt.data)))); diff != "" {
				t.Errorf("Text (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnvAndCommand(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) []Match
		in   string
		want []got
	}{
		{"aws secret env", Env, "AWS_SECRET_ACCESS_KEY=" + awsSecret,
			[]got{{Rule: RuleAWSSecretKey, Severity: Critical, Key: "AWS_SECRET_ACCESS_KEY", Masked: mask(awsSecret, 0)}}},
		{"aws id env", Env, "AWS_ACCESS_KEY_ID=" + awsID, []got{{Rule: RuleAWSAccessKeyID, Severity: High, Key: "AWS_ACCESS_KEY_ID", Masked: "AKIA************"}}},
		{"path env", Env, "PATH=/usr/local/sbin:/usr/local/bin", nil},
		{"gpg key env", Env, "GPG_KEY=E3FF2839C048B25C084DEBE9B26995E310250568", nil},
		{"random env", Env, "SESSION_SEED=q8Z!v2Lm#N4pR7tY1wX3cB6dF9", []got{{Rule: RuleHighEntropy, Severity: Low, Key: "SESSION_SEED", Masked: mask("q8Z!v2Lm#N4pR7tY1wX3cB6dF9", 0)}}},
		{"history env", Command, "/bin/sh -c #(nop)  ENV DB_PASSWORD=Sup3rS3cretPassw0rd!", []got{{Rule: RulePassword, Severity: High, Key: "DB_PASSWORD", Masked: "************"}}},
		{"history arg", Command, "|1 NPM_TOKEN=" + "npm_" + strings.Repeat("a1B2c3", 6) + " /bin/sh -c npm ci",
			[]got{{Rule: RuleNPMToken, Severity: High, Masked: mask("npm_"+strings.Repeat("a1B2c3", 6), 4)}}},
		{"option", Command, "mysql --password hunter22 -e 'select 1'", []got{{Rule: RulePassword, Severity: Medium, Key: "password", Masked: "********"}}},
		{"harmless", Command, "/bin/sh -c apt-get update && apt-get install -y curl", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, summarize(tt.fn(tt.in))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMaskAndFingerprint(t *testing.T) {
	m := Match{Rule: RuleAWSAccessKeyID, Value: awsID, prefix: 4}
	if strings.Contains(m.Masked(), awsID[4:]) {
		t.Errorf("Masked %q shows the secret part", m.Masked())
	}
	if fp := m.Fingerprint(); !strings.HasPrefix(fp, "sha256:") || len(fp) != 7+16 {
		t.Errorf("Fingerprint = %q", fp)
	}
	if fp := (Match{Value: "short"}).Fingerprint(); fp != "" {
		t.Errorf("short value fingerprint = %q, want none", fp)
	}
}

func TestLog(t *testing.T) {
	log := "2026-11-29T13:06:13Z started\n2026-11-29T13:06:13Z token=" + ghToken + "\n2026-11-29T13:06:14Z login password=hunter22 ok\n"
	want := []got{
		{Rule: RuleGitHubToken, Severity: High, Masked: mask(ghToken, 4), Line: 2},
		{Rule: RulePassword, Severity: Medium, Key: "password", Masked: "********", Line: 3},
	}
	if diff := cmp.Diff(want, summarize(Log([]byte(log)))); diff != "" {
		t.Errorf("Log (-want +got):\n%s", diff)
	}
}
