package match

import (
	"math"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
)

func TestEvaluate(t *testing.T) {
	thr := weightAt(0.99)
	pair := func(a, b string, p float64) ScoredPair {
		return ScoredPair{A: a, B: b, Weight: weightAt(p), Probability: p}
	}
	res := &Result{
		Groups: []cm.Group{
			{ID: "g1", Members: []string{"a1", "a2", "a3"}, Confidence: 0.995}, // a3 joined through a2
			{ID: "g2", Members: []string{"x", "y"}, Confidence: 0.999},         // a false link
		},
		Pairs: []ScoredPair{
			pair("a1", "a2", 0.999), pair("a2", "a3", 0.995), pair("a1", "a3", 0.2),
			pair("x", "y", 0.999),
			pair("b1", "b2", 0.4),   // scored below the threshold
			pair("c1", "c2", 0.999), // a link clustering kept apart
			pair("n1", "n2", 0.01),
		},
	}
	res.Stats.Contacts = 12
	res.Stats.Model.ThresholdWeight = thr
	truth := [][]string{{"a1", "a2", "a3"}, {"b1", "b2"}, {"c1", "c2"}, {"d1", "d2"}}
	ev := Evaluate(res, truth)
	if ev.TP != 3 || ev.FP != 1 || ev.FN != 3 || ev.TruePairs != 6 || ev.PredictedPairs != 4 {
		t.Fatalf("counts %+v", ev)
	}
	st := ev.Stages
	if st == nil || st.Blocking != 1 || st.Scoring != 1 || st.Clustering != 1 || st.FalseLinks != 1 || st.FalseChained != 0 || st.CandidateTruePairs != 5 {
		t.Fatalf("stages %+v", st)
	}
	if math.Abs(st.PairCompleteness-5.0/6) > 1e-12 {
		t.Errorf("pair completeness %v", st.PairCompleteness)
	}
	if ev.ScoredPairs != 7 || len(ev.Reliability) != 10 {
		t.Fatalf("reliability %+v", ev.Reliability)
	}
	top := ev.Reliability[9]
	if top.Pairs != 4 || top.TruePairs != 3 || math.Abs(top.Observed-0.75) > 1e-12 {
		t.Errorf("top bin %+v", top)
	}
	// ECE: bins 0 (0.01, false), 2 (0.2, true), 4 (0.4, true), 9 (mean 0.998, 3/4 true).
	want := (0.01 + 0.8 + 0.6 + 4*math.Abs((0.999*3+0.995)/4-0.75)) / 7
	if math.Abs(ev.ECE-want) > 1e-12 {
		t.Errorf("ECE %.6f, want %.6f", ev.ECE, want)
	}
	if wantHigh := math.Abs((0.999*3+0.995)/4 - 0.75); math.Abs(ev.ECEReported-wantHigh) > 1e-12 {
		t.Errorf("ECE of the pairs at 0.5 or more %.6f, want %.6f", ev.ECEReported, wantHigh)
	}
	if len(ev.GroupReliability) != 10 || ev.GroupReliability[9].Pairs != 2 || ev.GroupReliability[9].TruePairs != 1 {
		t.Errorf("group reliability %+v", ev.GroupReliability)
	}
	if s := ReliabilityTable(ev.Reliability); !strings.Contains(s, "[0.9,1.0]              4       3") {
		t.Errorf("table:\n%s", s)
	}
	// The finer bands above 0.5: 0.995 in [0.99,0.999), the three 0.999
	// in [0.999,0.9999).
	if h := ev.HighReliability; len(h) != 5 || h[2].Pairs != 1 || h[2].TruePairs != 1 || h[3].Pairs != 3 || h[3].TruePairs != 2 {
		t.Errorf("high reliability %+v", h)
	}
	// Without scored pairs: pairwise figures and groups only.
	res.Pairs = nil
	if ev := Evaluate(res, truth); ev.Stages != nil || ev.ScoredPairs != 0 || ev.TP != 3 {
		t.Errorf("without pairs %+v", ev)
	}
}

func TestReadTruth(t *testing.T) {
	want := [][]string{{"a", "b"}, {"c", "d", "e"}}
	for name, in := range map[string]string{
		"json": `[["a","b"],["c","d","e"]]`,
		"csv":  "contactId,entity\na,1\nb,1\r\nc,x\n\nd,x\ne,x\n",
	} {
		got, err := ReadTruth(strings.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %v", name, got)
		}
		for i := range want {
			if strings.Join(got[i], ",") != strings.Join(want[i], ",") {
				t.Errorf("%s: cluster %d %v, want %v", name, i, got[i], want[i])
			}
		}
	}
	for _, bad := range []string{"[[1,2]]", "a,1\nb\n"} {
		if _, err := ReadTruth(strings.NewReader(bad)); cm.ErrorCode(err) != cm.EINVALID {
			t.Errorf("%q: %v, want EINVALID", bad, err)
		}
	}
}
