package fsnap

import (
	"strings"
	"testing"
)

// A container's mountinfo as containerd sets it up for a Kubernetes pod.
const podMountInfo = `1183 1099 0:221 / / rw,relatime master:412 - overlay overlay rw,lowerdir=/var/lib/containerd/l1:/var/lib/containerd/l2,upperdir=/var/lib/containerd/u,workdir=/var/lib/containerd/w
1184 1183 0:224 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
1185 1183 0:225 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
1186 1185 0:226 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620,ptmxmode=666
1187 1185 0:220 / /dev/mqueue rw,nosuid,nodev,noexec,relatime - mqueue mqueue rw
1188 1183 0:227 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro
1189 1188 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw
1190 1183 259:1 /var/lib/kubelet/pods/6c1e/volumes/kubernetes.io~empty-dir/data /data rw,relatime - ext4 /dev/nvme0n1p1 rw
1191 1183 259:1 /var/lib/kubelet/pods/6c1e/etc-hosts /etc/hosts rw,relatime - ext4 /dev/nvme0n1p1 rw
1192 1185 259:1 /var/lib/kubelet/pods/6c1e/containers/app/0d2c /dev/termination-log rw,relatime - ext4 /dev/nvme0n1p1 rw
1193 1183 0:219 / /var/run/secrets/kubernetes.io/serviceaccount ro,relatime - tmpfs tmpfs rw,size=7971464k
1194 1183 259:1 /srv/with\040space /mnt/with\040space\134back rw - ext4 /dev/nvme0n1p1 rw
1195 1184 0:225 /null /proc/kcore rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
`

func TestParseMountInfo(t *testing.T) {
	ms, err := ParseMountInfo(strings.NewReader(podMountInfo))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 13 {
		t.Fatalf("%d mounts", len(ms))
	}
	want := map[string]struct {
		kind    string
		skipped bool
	}{
		"/":                    {"root", false},
		"/proc":                {"pseudo", true},
		"/dev":                 {"volume", false},
		"/dev/pts":             {"pseudo", true},
		"/dev/mqueue":          {"pseudo", true},
		"/sys":                 {"pseudo", true},
		"/sys/fs/cgroup":       {"pseudo", true},
		"/data":                {"volume", false},
		"/etc/hosts":           {"runtime-file", false},
		"/dev/termination-log": {"runtime-file", false},
		"/var/run/secrets/kubernetes.io/serviceaccount": {"service-account-token", false},
		"/mnt/with space\\back":                         {"volume", false},
		"/proc/kcore":                                   {"volume", false},
	}
	for _, m := range ms {
		w, ok := want[m.MountPoint]
		if !ok || w.kind != m.Kind || w.skipped != m.Skipped {
			t.Errorf("%q: kind %q skipped %v", m.MountPoint, m.Kind, m.Skipped)
		}
	}
	d := ms[7]
	if d.ID != 1190 || d.ParentID != 1183 || d.Device != "259:1" || d.FSType != "ext4" || d.Source != "/dev/nvme0n1p1" ||
		d.Root != "/var/lib/kubelet/pods/6c1e/volumes/kubernetes.io~empty-dir/data" || d.Options != "rw,relatime" {
		t.Errorf("volume: %+v", d)
	}
	if ms[0].Optional[0] != "master:412" || !strings.HasPrefix(ms[0].SuperOptions, "rw,lowerdir=") {
		t.Errorf("root: %+v", ms[0])
	}
	if ms[11].Root != "/srv/with space" {
		t.Errorf("escaped root %q", ms[11].Root)
	}
	if _, err := ParseMountInfo(strings.NewReader("garbage line\n")); err == nil {
		t.Error("garbage accepted")
	}
}
