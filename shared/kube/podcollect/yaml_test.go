package podcollect

import (
	"encoding/json"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/forensic-tools/forensic/shared/kube/kubetest"
)

// TestJSONToYAMLSameAsSigsYAML: the fast conversion writes exactly what
// sigs.k8s.io/yaml.JSONToYAML writes, for a full pod and for the values
// where YAML is tricky (numbers of every size, strings that read as other
// types, keys that sort with digits, unicode, empty and null values).
func TestJSONToYAMLSameAsSigsYAML(t *testing.T) {
	pod, _ := kubetest.RichWorld()
	podJSON, err := json.Marshal(withKind(pod))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{
		string(podJSON),
		`{"a":1,"b":-9223372036854775808,"c":18446744073709551616,"d":1.5,"e":1e+300,"f":0.000001,"g":-0,"h":12345678901234567890}`,
		`{"s":["true","no","~","null","1","1.0","0x1F","1e3","2026-12-06","yes: no","- x","#c","","  sp","a\nb","é\u2028x",":"]}`,
		`{"k10":1,"k9":2,"K":3,"k":4,"a-1":5,"a_1":6,"a.1":7,"10":8,"9":9}`,
		`{"empty":{},"list":[],"nil":null,"nested":[[],[{}],[null,true,false]]}`,
		`[1,"x",{"b":2,"a":1}]`,
		`"just a string"`,
	} {
		want, err := yaml.JSONToYAML([]byte(in))
		if err != nil {
			t.Fatalf("JSONToYAML(%s): %v", in, err)
		}
		got, err := jsonToYAML([]byte(in))
		if err != nil {
			t.Fatalf("jsonToYAML(%s): %v", in, err)
		}
		if string(got) != string(want) {
			t.Errorf("jsonToYAML(%.60s):\n%s\nwant (sigs.k8s.io/yaml):\n%s", in, got, want)
		}
	}
	if _, err := jsonToYAML([]byte(`{"a":1} {"b":2}`)); err == nil {
		t.Error("two JSON values: no error")
	}
	if _, err := jsonToYAML([]byte(`{"a":`)); err == nil {
		t.Error("cut JSON: no error")
	}
}

func BenchmarkPodYAML(b *testing.B) {
	pod, _ := kubetest.RichWorld()
	raw, _ := json.Marshal(withKind(pod))
	b.Run("sigs.k8s.io/yaml", func(b *testing.B) {
		for b.Loop() {
			if _, err := yaml.JSONToYAML(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jsonToYAML", func(b *testing.B) {
		for b.Loop() {
			if _, err := jsonToYAML(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
