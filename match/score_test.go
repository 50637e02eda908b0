package match

import (
	"context"
	"fmt"
	"math"
	"testing"

	cm "github.com/contactmerge/contactmerge"
)

func TestEMRecoversParameters(t *testing.T) {
	m := [][]float64{{0.9, 0.1}, {0.8, 0.2}, {0.95, 0.05}, {0.7, 0.3}}
	u := [][]float64{{0.05, 0.95}, {0.1, 0.9}, {0.02, 0.98}, {0.2, 0.8}}
	const lambda = 0.3
	s := &scorer{}
	for range m {
		s.comps = append(s.comps, &comparator{levels: []compiledLevel{{name: "exact"}}, u: []float64{0.3, 0.7}})
	}
	var pats [][]uint8
	var counts []float64
	for bits := 0; bits < 16; bits++ {
		p := make([]uint8, 4)
		pm, pu := lambda, 1-lambda
		for k := range p {
			p[k] = uint8(bits >> k & 1)
			pm *= m[k][p[k]]
			pu *= u[k][p[k]]
		}
		pats = append(pats, p)
		counts = append(counts, 100000*(pm+pu))
	}
	got, gl, iters, conv := s.emCore(pats, counts, nil, 2000)
	if !conv {
		t.Errorf("EM did not converge in %d iterations", iters)
	}
	if math.Abs(gl-lambda) > 0.01 {
		t.Errorf("lambda %.4f, want %.2f", gl, lambda)
	}
	for k := range m {
		for l := range m[k] {
			if math.Abs(got[k][l]-m[k][l]) > 0.01 {
				t.Errorf("m[%d][%d] = %.4f, want %.2f", k, l, got[k][l], m[k][l])
			}
		}
	}
	// Skipped comparators take no part and get no estimate.
	got, _, _, _ = s.emCore(pats, counts, []bool{false, true, false, false}, 200)
	if got[1] != nil || got[0] == nil {
		t.Errorf("skip ignored: %v", got)
	}
}

func TestTermFrequencyAdjustment(t *testing.T) {
	var cs []cm.Contact
	for i := range 200 {
		c := cm.Contact{ID: fmt.Sprintf("c%03d", i), FirstName: fmt.Sprintf("n%d", i)}
		switch {
		case i < 100:
			c.WorkEmail = "info@acme.com" // a shared mailbox
		case i < 102:
			c.WorkEmail = "rare@example.com"
		default:
			c.WorkEmail = fmt.Sprintf("p%d@example.com", i)
		}
		cs = append(cs, c)
	}
	cfg := DefaultConfig()
	in := NewMemoryInput(cs, cfg)
	d := newDataset()
	for i, id := range in.ids {
		d.addEncoded(id, in.norms[i], in.fp)
	}
	d.finish()
	s := newScorer(d, &cfg, newNicknames(nil))
	var email *comparator
	for _, c := range s.comps {
		if c.field == "email" {
			email = c
		}
		c.m = make([]float64, c.numLevels())
		c.u = make([]float64, c.numLevels())
		for l := range c.m {
			c.m[l], c.u[l] = 0.5, 0.5
		}
	}
	if email == nil {
		t.Fatal("no email comparator")
	}
	email.m = []float64{0.9, 0.02, 0.02, 0.06}
	email.u = []float64{0.01, 0.01, 0.01, 0.97}
	s.finishWeights()
	common := email.fieldWeight(0, 1, 0)
	rare := email.fieldWeight(100, 101, 0)
	if !(rare > common) {
		t.Errorf("rare value weight %.2f should exceed common value weight %.2f", rare, common)
	}
	if want := math.Log2(0.9 / (2.0 / 200)); math.Abs(rare-want) > 1e-9 {
		t.Errorf("rare weight %.4f, want log2(m/p) = %.4f", rare, want)
	}
	if want := math.Log2(0.9 / (100.0 / 200)); math.Abs(common-want) > 1e-9 {
		t.Errorf("common weight %.4f, want %.4f", common, want)
	}
}

func TestBlockingSkipsHugeBlocks(t *testing.T) {
	var cs []cm.Contact
	for i := range 150 {
		cs = append(cs, cm.Contact{
			ID: fmt.Sprintf("c%03d", i), FirstName: fmt.Sprintf("first%d", i), LastName: fmt.Sprintf("last%d", i),
			WorkPhone: &cm.PhoneNumber{E164: "+13125550100"}, // a switchboard
		})
	}
	cfg := DefaultConfig()
	cfg.MaxBlockSize = 100
	rep, err := EvaluateBlocking(context.Background(), cs, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.CandidatePairs != 0 || rep.SkippedBlocks != 1 {
		t.Errorf("candidates %d, skipped %d; want 0 and 1", rep.CandidatePairs, rep.SkippedBlocks)
	}
	res, err := MatchContacts(context.Background(), cs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Groups) != 0 || res.Stats.SkippedBlocks != 1 || len(res.Stats.Skipped) != 1 || res.Stats.Skipped[0].Size != 150 {
		t.Errorf("groups %d stats %+v", len(res.Groups), res.Stats)
	}
}
