package zarr

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// store is a directory store: one file per metadata document and chunk.
type store struct {
	root   string
	format int
	// consolidated maps a metadata key to its document when the store has
	// consolidated metadata: v2 keys are file keys ("X/data/.zarray"),
	// v3 keys are node paths ("X/data").
	consolidated map[string]json.RawMessage
}

// Group is a zarr group. It is safe for concurrent use.
type Group struct {
	s     *store
	key   string // slash-separated path from the store root; "" at the root
	attrs map[string]any
}

// Open opens the zarr store (format 2 or 3) whose root group is the
// directory path. A format 2 store's consolidated .zmetadata, or a format 3
// root's consolidated_metadata, is used when present.
func Open(dir string) (*Group, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("zarr: open %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("zarr: open %s: %w: it is a file, not a directory", dir, ErrNotZarr)
	}
	s := &store{root: dir}
	switch {
	case exists(filepath.Join(dir, "zarr.json")):
		s.format = 3
		b, err := os.ReadFile(filepath.Join(dir, "zarr.json"))
		if err != nil {
			return nil, fmt.Errorf("zarr: %w", err)
		}
		n, err := parseNodeV3(b)
		if err != nil {
			return nil, fmt.Errorf("zarr: %s: %w", filepath.Join(dir, "zarr.json"), err)
		}
		if n.NodeType != "group" {
			return nil, fmt.Errorf("zarr: open %s: the root is an array, not a group", dir)
		}
		if n.Consolidated != nil && n.Consolidated.Metadata != nil {
			s.consolidated = n.Consolidated.Metadata
		}
	case exists(filepath.Join(dir, ".zgroup")):
		s.format = 2
		if b, err := os.ReadFile(filepath.Join(dir, ".zmetadata")); err == nil {
			var zm struct {
				Metadata map[string]json.RawMessage `json:"metadata"`
			}
			if err := json.Unmarshal(b, &zm); err != nil {
				return nil, fmt.Errorf("zarr: %s: %w: %v", filepath.Join(dir, ".zmetadata"), ErrInvalidMetadata, err)
			}
			s.consolidated = zm.Metadata
		}
	case exists(filepath.Join(dir, ".zarray")):
		return nil, fmt.Errorf("zarr: open %s: the root is an array, not a group", dir)
	default:
		return nil, fmt.Errorf("zarr: open %s: %w", dir, ErrNotZarr)
	}
	return s.group("")
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// doc returns a metadata document: from the consolidated metadata when it
// holds the key, else from the file. A missing document returns an error
// that wraps fs.ErrNotExist.
func (s *store) doc(key string) ([]byte, error) {
	ckey := key
	if s.format == 3 {
		ckey = strings.TrimSuffix(strings.TrimSuffix(key, "zarr.json"), "/")
	}
	if d, ok := s.consolidated[ckey]; ok {
		return d, nil
	}
	return os.ReadFile(s.file(key))
}

// file returns the file path of a store key.
func (s *store) file(key string) string {
	return filepath.Join(s.root, filepath.FromSlash(key))
}

// nodeKind reports "group", "array" or "" for the node at key.
func (s *store) nodeKind(key string) string {
	if s.format == 2 {
		for _, k := range []struct{ file, kind string }{{".zarray", "array"}, {".zgroup", "group"}} {
			full := path.Join(key, k.file)
			if _, ok := s.consolidated[full]; ok || exists(s.file(full)) {
				return k.kind
			}
		}
		return ""
	}
	b, err := s.doc(path.Join(key, "zarr.json"))
	if err != nil {
		return ""
	}
	var n struct {
		NodeType string `json:"node_type"`
	}
	if json.Unmarshal(b, &n) != nil {
		return ""
	}
	return n.NodeType
}

func (s *store) group(key string) (*Group, error) {
	g := &Group{s: s, key: key}
	if s.format == 2 {
		if s.nodeKind(key) != "group" {
			return nil, s.missing(key, "group")
		}
		attrs, err := s.attrsV2(key)
		if err != nil {
			return nil, err
		}
		g.attrs = attrs
		return g, nil
	}
	mkey := path.Join(key, "zarr.json")
	b, err := s.doc(mkey)
	if err != nil {
		return nil, s.missing(key, "group")
	}
	n, err := parseNodeV3(b)
	if err != nil {
		return nil, fmt.Errorf("zarr: %s: %w", s.file(mkey), err)
	}
	if n.NodeType != "group" {
		return nil, fmt.Errorf("zarr: %s: %w: it is an array, not a group", s.file(key), ErrNotFound)
	}
	g.attrs = n.Attributes
	return g, nil
}

func (s *store) missing(key, what string) error {
	if key == "" {
		key = "."
	}
	return fmt.Errorf("zarr: %s: %w: no %s %q in store %s", s.file(key), ErrNotFound, what, key, s.root)
}

// attrsV2 reads a v2 .zattrs file; a missing one means no attributes.
func (s *store) attrsV2(key string) (map[string]any, error) {
	akey := path.Join(key, ".zattrs")
	b, err := s.doc(akey)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("zarr: %w", err)
	}
	var attrs map[string]any
	if err := json.Unmarshal(b, &attrs); err != nil {
		return nil, fmt.Errorf("zarr: %s: %w: %v", s.file(akey), ErrInvalidMetadata, err)
	}
	if attrs == nil {
		attrs = map[string]any{}
	}
	return attrs, nil
}

// Format returns the Zarr format, 2 or 3.
func (g *Group) Format() int { return g.s.format }

// Key returns the group's path inside the store, "" for the root.
func (g *Group) Key() string { return g.key }

// Dir returns the group's directory on disk.
func (g *Group) Dir() string { return g.s.file(g.key) }

// Attrs returns the group's attributes. The map is shared: do not modify it.
func (g *Group) Attrs() map[string]any { return g.attrs }

// join resolves rel, a slash-separated path below g.
func (g *Group) join(rel string) (string, error) {
	clean := path.Clean("/" + rel)
	if clean == "/" || strings.Contains(rel, "\\") || hasDotDot(rel) {
		return "", fmt.Errorf("zarr: %s: %w: bad member path %q", g.Dir(), ErrNotFound, rel)
	}
	return strings.TrimPrefix(path.Join(g.key, clean), "/"), nil
}

// Group opens the group at rel, a slash-separated path below g.
func (g *Group) Group(rel string) (*Group, error) {
	key, err := g.join(rel)
	if err != nil {
		return nil, err
	}
	return g.s.group(key)
}

// Array opens the array at rel, a slash-separated path below g.
func (g *Group) Array(rel string) (*Array, error) {
	key, err := g.join(rel)
	if err != nil {
		return nil, err
	}
	return g.s.array(key)
}

// Has reports whether a group or array exists at rel.
func (g *Group) Has(rel string) bool {
	key, err := g.join(rel)
	return err == nil && g.s.nodeKind(key) != ""
}

// Members returns the names of the child groups and arrays of g, sorted.
func (g *Group) Members() (groups, arrays []string, err error) {
	seen := map[string]bool{}
	add := func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		switch g.s.nodeKind(path.Join(g.key, name)) {
		case "group":
			groups = append(groups, name)
		case "array":
			arrays = append(arrays, name)
		}
	}
	if g.s.consolidated != nil {
		prefix := g.key
		if prefix != "" {
			prefix += "/"
		}
		for k := range g.s.consolidated {
			if !strings.HasPrefix(k, prefix) || k == g.key {
				continue
			}
			rest := strings.TrimPrefix(k, prefix)
			name, _, _ := strings.Cut(rest, "/")
			if name != "" && !strings.HasPrefix(name, ".") && name != "zarr.json" {
				add(name)
			}
		}
	} else {
		ents, err := os.ReadDir(g.Dir())
		if err != nil {
			return nil, nil, fmt.Errorf("zarr: members of %s: %w", g.Dir(), err)
		}
		for _, e := range ents {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				add(e.Name())
			}
		}
	}
	sort.Strings(groups)
	sort.Strings(arrays)
	return groups, arrays, nil
}

func hasDotDot(rel string) bool {
	for _, seg := range strings.Split(rel, "/") {
		if seg == ".." {
			return true
		}
	}
	return false
}
