package human

import "testing"

// Reuse keeps the backing array and every Person's vertex buffer, beyond the length too, and
// zeroes everything else; growing past the capacity keeps the old buffers.
func TestReuseKeepsBuffers(t *testing.T) {
	people := make([]Person, 2, 3)
	for i := range people[:3] {
		people[:3][i] = Person{Detection: Detection{TrackID: i + 1}, CamT: [3]float32{1, 2, 3}, Vertices: make([]float32, 6, 9)}
	}
	bufs := [3]*float32{&people[:3][0].Vertices[:1][0], &people[:3][1].Vertices[:1][0], &people[:3][2].Vertices[:1][0]}
	got := Reuse(people[:0], 3)
	if &got[0] != &people[0] {
		t.Error("Reuse made a new array although the capacity held 3")
	}
	for i, p := range got {
		if p.TrackID != 0 || p.CamT != [3]float32{} || len(p.Vertices) != 0 || cap(p.Vertices) != 9 {
			t.Errorf("person %d: %+v, want zero with an empty vertex buffer of capacity 9", i, p)
		}
		if &p.VertexBuffer(9)[0] != bufs[i] {
			t.Errorf("person %d: VertexBuffer(9) gave a new buffer", i)
		}
	}
	grown := Reuse(got[:1], 5)
	if len(grown) != 5 {
		t.Fatalf("len %d, want 5", len(grown))
	}
	for i := range 3 {
		if &grown[i].VertexBuffer(9)[0] != bufs[i] {
			t.Errorf("person %d lost its vertex buffer when the array grew", i)
		}
	}
	if v := grown[4].VertexBuffer(12); len(v) != 12 {
		t.Errorf("VertexBuffer(12) of a new Person has length %d", len(v))
	}
}

// Once the buffers are there, reusing them allocates nothing.
func TestReuseAllocatesNothing(t *testing.T) {
	people := Reuse(nil, 4)
	for i := range people {
		people[i].VertexBuffer(3 * 6890)
	}
	if n := testing.AllocsPerRun(10, func() {
		people = Reuse(people[:0], 4)
		for i := range people {
			people[i].VertexBuffer(3 * 6890)
		}
	}); n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}
