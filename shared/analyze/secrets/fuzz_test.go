package secrets

import (
	"strings"
	"testing"
)

// FuzzText runs every scanner on arbitrary input: none may panic, and no
// masked value may show a whole secret longer than its public prefix.
func FuzzText(f *testing.F) {
	f.Add("/etc/app.env", "DB_PASSWORD=hunter22\naws_secret_access_key = "+awsSecret+"\n"+rsaKey)
	f.Add("/etc/shadow", "root:$6$x$y:1::::::\n")
	f.Add("/x.json", `{"auths":{"r":{"auth":"Ym9iOnMzY3IzdA=="}}} https://a:bcd@h `+ghToken)
	f.Add("/id", sshEnc+sshPlain+"-----BEGIN OPENSSH PRIVATE KEY-----\n!!!!\n")
	f.Fuzz(func(t *testing.T, name, data string) {
		var all []Match
		all = append(all, Text(name, []byte(data))...)
		all = append(all, Log([]byte(data))...)
		all = append(all, Env(data)...)
		all = append(all, Command(data)...)
		for _, m := range all {
			masked := m.Masked()
			if m.Rule != RulePrivateKey && len(m.Value) >= 8 && m.prefix < len(m.Value)-4 && strings.Contains(masked, m.Value) {
				t.Fatalf("rule %s: masked %q shows the value %q", m.Rule, masked, m.Value)
			}
			_ = m.Fingerprint()
		}
	})
}
