package pkgdb

import "testing"

// FuzzParse runs every parser on arbitrary bytes: none may panic, and
// every package returned has a name.
func FuzzParse(f *testing.F) {
	f.Add(uint8(Dpkg), dpkgStatus)
	f.Add(uint8(Apk), apkInstalled)
	f.Add(uint8(Python), "Name: x\nVersion: 1\n")
	f.Add(uint8(NPM), `{"name":"x","version":"1","license":{"type":"MIT"}}`)
	f.Fuzz(func(t *testing.T, kind uint8, data string) {
		paths := map[DB]string{Dpkg: "/var/lib/dpkg/status", Apk: "/lib/apk/db/installed", Python: "/l/site-packages/x.dist-info/METADATA", NPM: "/node_modules/x/package.json", Gem: "/specifications/" + data + ".gemspec"}
		paths[RPM] = "/var/lib/rpm/rpmdb.sqlite"
		db := DB(kind % 8)
		for _, p := range Parse(db, paths[db], []byte(data)) {
			if p.Name == "" {
				t.Fatalf("package without a name from %q", data)
			}
			_ = PURL(p, ParseOSRelease([]byte(data)))
		}
	})
}
