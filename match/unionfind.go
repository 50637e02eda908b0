package match

// denseUnionFind is a disjoint-set forest over every record 0..n-1, with
// path halving and union by size: for passes over all records (the
// term-frequency components, an incremental match's affected components).
// unionFind (cluster.go) is the sparse one, for the few records of a link
// graph's components.
type denseUnionFind struct {
	parent, size []int32
}

func newDenseUnionFind(n int) *denseUnionFind {
	u := &denseUnionFind{parent: make([]int32, n), size: make([]int32, n)}
	for i := range u.parent {
		u.parent[i], u.size[i] = int32(i), 1
	}
	return u
}

// find returns the root of x's set.
func (u *denseUnionFind) find(x int32) int32 {
	for u.parent[x] != x {
		u.parent[x] = u.parent[u.parent[x]]
		x = u.parent[x]
	}
	return x
}

// union joins the sets of a and b: the root of the larger one (a's on a
// tie) becomes the root of both.
func (u *denseUnionFind) union(a, b int32) {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return
	}
	if u.size[ra] < u.size[rb] {
		ra, rb = rb, ra
	}
	u.parent[rb] = ra
	u.size[ra] += u.size[rb]
}

// setSize returns the size of the set whose root is root.
func (u *denseUnionFind) setSize(root int32) int32 { return u.size[root] }
