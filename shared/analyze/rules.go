package analyze

import (
	"github.com/forensic-tools/forensic/shared/analyze/secrets"
	"github.com/forensic-tools/forensic/shared/analyze/tarscan"
)

// Rule is one kind of finding: the catalogue entry every Finding of that
// kind takes its category and default severity from.
type Rule struct {
	// ID is what Finding.Rule says. Reports, golden files and the tools
	// that read reports key on it: it never changes.
	ID       string
	Category string
	// Severity is the rule's severity. When Varies is true each finding is
	// judged case by case and Severity is the usual one; Reason says when
	// it differs.
	Severity Severity
	Varies   bool
	// Reason says in one line what the rule finds and why it matters.
	Reason string
}

// The IDs of the rules analyze judges itself. The secret rules are
// package secrets' Rule constants, the hostile archive entries package
// tarscan's.
const (
	ruleHistoryMismatch    = "history-mismatch"
	ruleDiffIDsMismatch    = "diff-ids-mismatch"
	ruleConfigDigest       = "config-digest-mismatch"
	ruleMissingLayer       = "missing-layer"
	ruleLayerDigest        = "layer-digest-mismatch"
	ruleRPMUnreadable      = "rpmdb-unreadable"
	ruleBundleNotIntact    = "bundle-not-intact"
	ruleArtifactAltered    = "artifact-altered"
	ruleSetuid             = "setuid"
	ruleSetgid             = "setgid"
	ruleWorldWritable      = "world-writable"
	ruleExecInTmp          = "exec-in-tmp"
	ruleExecInHiddenDir    = "exec-in-hidden-dir"
	ruleMimicsSystemBinary = "mimics-system-binary"
	ruleHighEntropyBlob    = "high-entropy-blob"
	rulePackedExecutable   = "packed-executable"
	ruleLDPreload          = "ld-preload"
	ruleSSHAuthorizedKeys  = "ssh-authorized-keys"
	ruleAddedAfterBuild    = "added-after-build"
	ruleChangedAfterBuild  = "changed-after-build"
	ruleThroughSymlink     = "through-symlink"
	ruleHardlinkMissing    = "hardlink-missing"
	ruleDuplicateEntry     = "duplicate-entry"
	ruleExecAnonymous      = "memory-exec-anonymous"
	ruleDeletedExe         = "memory-deleted-executable"
	ruleExeChanged         = "memory-exe-not-image"
)

// catalogue is every rule a finding can have, by category. A new rule is
// a new row here and a constant above (or in secrets or tarscan); the
// findings take their category and default severity from the row (see
// Finding.ruled), and docs/analyze-rules.md is generated from it
// (go test ./shared/analyze -run TestRuleDocs -update).
var catalogue = []Rule{
	// Suspicious files.
	{ID: ruleSetuid, Category: CategorySuspicious, Severity: High, Varies: true,
		Reason: "setuid program: runs with its owner's rights whoever starts it, a way to regain root (low for names distributions ship in system folders)"},
	{ID: ruleSetgid, Category: CategorySuspicious, Severity: Medium, Varies: true,
		Reason: "setgid program: runs with its group's rights whoever starts it (low for names distributions ship in system folders)"},
	{ID: ruleWorldWritable, Category: CategorySuspicious, Severity: Medium,
		Reason: "world-writable file, or folder without the sticky bit: anyone in the container can replace what is in it"},
	{ID: ruleExecInTmp, Category: CategorySuspicious, Severity: Medium, Varies: true,
		Reason: "executable in a world-writable temporary folder, where droppers put their payload (high for ELF and PE programs)"},
	{ID: ruleExecInHiddenDir, Category: CategorySuspicious, Severity: Medium, Varies: true,
		Reason: "executable in a hidden folder that is not a known tool's, where ls does not show it (high for ELF and PE programs)"},
	{ID: ruleMimicsSystemBinary, Category: CategorySuspicious, Severity: High,
		Reason: "ELF program outside the system folders named like a system program or kernel thread: malware hides behind familiar names"},
	{ID: ruleHighEntropyBlob, Category: CategorySuspicious, Severity: Medium,
		Reason: "large file of near-random bytes in no known compressed format: encrypted or packed content"},
	{ID: rulePackedExecutable, Category: CategorySuspicious, Severity: High,
		Reason: "ELF executable packed (UPX marker or near-random content): packers hide malware and miners from scanners"},
	{ID: ruleLDPreload, Category: CategorySuspicious, Severity: High,
		Reason: "/etc/ld.so.preload loads a library into every program: a classic rootkit and credential-stealer hook"},
	{ID: ruleSSHAuthorizedKeys, Category: CategorySuspicious, Severity: Medium,
		Reason: "SSH public keys allowed to log in: a common persistence method, check each key's owner"},
	{ID: ruleAddedAfterBuild, Category: CategorySuspicious, Severity: Low, Varies: true,
		Reason: "file the running container added after the image was built (high for executables and persistence places, medium in temporary or hidden folders)"},
	{ID: ruleChangedAfterBuild, Category: CategorySuspicious, Severity: Low, Varies: true,
		Reason: "file the running container changed after the image was built (high for executables and persistence places, medium in temporary or hidden folders)"},

	// Process memory (checkpoints and cores).
	{ID: ruleExecAnonymous, Category: CategorySuspicious, Severity: High,
		Reason: "executable memory not backed by a file: injected or unpacked code (JIT runtimes such as Java or Node.js also make some)"},
	{ID: ruleDeletedExe, Category: CategorySuspicious, Severity: High,
		Reason: "a process runs or maps a program deleted from disk: droppers delete their payload once it runs"},
	{ID: ruleExeChanged, Category: CategorySuspicious, Severity: High,
		Reason: "a process runs a program that is not the image's: added or changed in the container's writable layer"},

	// Secrets, found by package secrets.
	{ID: secrets.RulePrivateKey, Category: CategorySecret, Severity: Critical, Varies: true,
		Reason: "private key in PEM form (medium when passphrase-protected)"},
	{ID: secrets.RuleAWSAccessKeyID, Category: CategorySecret, Severity: High, Reason: "AWS access key ID"},
	{ID: secrets.RuleAWSSecretKey, Category: CategorySecret, Severity: Critical, Reason: "AWS secret access key assigned to a telling name"},
	{ID: secrets.RuleGCPAPIKey, Category: CategorySecret, Severity: High, Reason: "Google API key"},
	{ID: secrets.RuleGitHubToken, Category: CategorySecret, Severity: High, Reason: "GitHub token, classic or fine-grained"},
	{ID: secrets.RuleGitLabToken, Category: CategorySecret, Severity: High, Reason: "GitLab personal access token"},
	{ID: secrets.RuleSlackToken, Category: CategorySecret, Severity: High, Reason: "Slack token"},
	{ID: secrets.RuleSlackWebhook, Category: CategorySecret, Severity: Medium, Reason: "Slack incoming webhook URL"},
	{ID: secrets.RuleStripeKey, Category: CategorySecret, Severity: High, Reason: "Stripe live secret or restricted key"},
	{ID: secrets.RuleNPMToken, Category: CategorySecret, Severity: High, Reason: "npm access token"},
	{ID: secrets.RulePyPIToken, Category: CategorySecret, Severity: High, Reason: "PyPI upload token"},
	{ID: secrets.RuleJWT, Category: CategorySecret, Severity: Medium, Reason: "JSON Web Token"},
	{ID: secrets.RuleURLCredentials, Category: CategorySecret, Severity: Medium, Reason: "password in a URL's user information"},
	{ID: secrets.RuleDockerAuth, Category: CategorySecret, Severity: High, Reason: "registry credentials in a docker config's auth field"},
	{ID: secrets.RuleAzureStorageKey, Category: CategorySecret, Severity: High, Reason: "Azure storage account key"},
	{ID: secrets.RulePasswordHash, Category: CategorySecret, Severity: Medium, Varies: true,
		Reason: "password hash of an account in /etc/shadow or /etc/gshadow, open to offline cracking (high for root)"},
	{ID: secrets.RulePassword, Category: CategorySecret, Severity: Medium, Varies: true,
		Reason: "password assigned to a telling name in a configuration, environment, command or log (high when long and random)"},
	{ID: secrets.RuleToken, Category: CategorySecret, Severity: Medium, Varies: true,
		Reason: "token, key or credential assigned to a telling name (high when long and random)"},
	{ID: secrets.RuleHighEntropy, Category: CategorySecret, Severity: Low,
		Reason: "long random-looking value of an environment variable not known to hold a checksum or version"},

	// Integrity of images and bundles.
	{ID: ruleConfigDigest, Category: CategoryIntegrity, Severity: High,
		Reason: "the image configuration does not hash to its name: it was altered after the image was made"},
	{ID: ruleLayerDigest, Category: CategoryIntegrity, Severity: High,
		Reason: "a layer does not hash to the digest or diff ID the image names: it was altered or damaged"},
	{ID: ruleMissingLayer, Category: CategoryIntegrity, Severity: High,
		Reason: "the manifest names a layer the tarball does not hold: the image is incomplete"},
	{ID: ruleHistoryMismatch, Category: CategoryIntegrity, Severity: Medium,
		Reason: "the history's layer steps and the manifest's layers differ in number: the image was assembled or altered by hand"},
	{ID: ruleDiffIDsMismatch, Category: CategoryIntegrity, Severity: Medium,
		Reason: "the configuration's diff IDs and the layers differ in number: layers were added or removed after the build"},
	{ID: ruleRPMUnreadable, Category: CategoryIntegrity, Severity: Low,
		Reason: "an RPM database or its write-ahead log could not be read in full: packages may be missing from the list and SBOM"},
	{ID: ruleBundleNotIntact, Category: CategoryIntegrity, Severity: High,
		Reason: "the bundle does not match its manifest: evidence was altered, removed, added or damaged after collection"},
	{ID: ruleArtifactAltered, Category: CategoryIntegrity, Severity: High,
		Reason: "a bundle artifact does not hash to what the manifest records"},

	// Hostile or broken archive entries; the first six are found by
	// package tarscan.
	{ID: tarscan.RulePathEscape, Category: CategoryArchive, Severity: High,
		Reason: "entry name climbs out of the root with \"..\": extracting it writes outside the target folder"},
	{ID: tarscan.RuleHardlinkEscape, Category: CategoryArchive, Severity: High,
		Reason: "hard link to a path outside the archive's root: extracting it links to a file of the host"},
	{ID: tarscan.RuleWhiteoutEscape, Category: CategoryArchive, Severity: High,
		Reason: "whiteout that names no file of its folder: it would delete the folder or its parent"},
	{ID: tarscan.RuleLinkEscape, Category: CategoryArchive, Severity: Medium,
		Reason: "symbolic link whose target climbs above the root"},
	{ID: tarscan.RuleAbsolutePath, Category: CategoryArchive, Severity: Medium,
		Reason: "absolute entry name: a careless extraction writes it outside the target folder"},
	{ID: tarscan.RuleBadName, Category: CategoryArchive, Severity: Medium,
		Reason: "entry name that is empty, too long, holds a NUL byte or names the root: the entry is skipped"},
	{ID: ruleThroughSymlink, Category: CategoryArchive, Severity: Medium,
		Reason: "entry written through a symbolic link of the same archive: a careless extraction writes where the link points"},
	{ID: ruleHardlinkMissing, Category: CategoryArchive, Severity: Low,
		Reason: "hard link to a path that is not an earlier entry of the archive"},
	{ID: ruleDuplicateEntry, Category: CategoryArchive, Severity: Low,
		Reason: "the archive holds a path twice: the later entry wins on extraction and hides the first from most tools"},

	// Known vulnerabilities of installed packages (--vulns).
	{ID: ruleKnownVulnerability, Category: CategoryVulnerability, Severity: Medium, Varies: true,
		Reason: "an installed package's version is affected by a record of the OSV database: rated by its CVSS v3 score or the record's own word (medium when the record rates it not at all)"},
}

// ruleIndex finds catalogue rows by ID.
var ruleIndex = func() map[string]Rule {
	m := make(map[string]Rule, len(catalogue))
	for _, r := range catalogue {
		m[r.ID] = r
	}
	return m
}()

// Rules returns the catalogue: every rule a finding can have.
func Rules() []Rule { return append([]Rule(nil), catalogue...) }

// ruled fills in the finding's category from the catalogue row of its
// rule, and its severity when the finding left it empty: the rules that
// judge each finding (Rule.Varies) set it, the others take the row's.
func (f Finding) ruled() Finding {
	r := ruleIndex[f.Rule]
	f.Category = r.Category
	if f.Severity == "" {
		f.Severity = r.Severity
	}
	return f
}
