// Package hub resolves Hugging Face Hub model ids ("org/name" or "org/name@revision") to local
// folders the way huggingface_hub does, in the same cache, so that Python (transformers,
// sentence-transformers, PyLate) and Mimicry share their downloads.
//
// The cache is huggingface_hub's: $HF_HUB_CACHE (default $HF_HOME/hub, $HF_HOME defaulting to
// $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface) holds one folder per repository,
//
//	models--org--name/
//	  refs/main                      the commit that "main" resolved to
//	  blobs/<etag>                   file contents, named by their ETag (sha256 for LFS files)
//	  blobs/<etag>.incomplete        a download under way (resumed with an HTTP Range request)
//	  snapshots/<commit>/<file>      relative symlinks to the blobs: the model folder
//
// [Resolve] returns the snapshot folder. With HF_HUB_OFFLINE set (or [Options.Offline]) only the
// cache is read. Online, the repository's file list comes from $HF_ENDPOINT/api/models/{id}/revision/{rev}
// and each file from $HF_ENDPOINT/{id}/resolve/{commit}/{file}, reading the X-Repo-Commit,
// X-Linked-Etag/ETag and X-Linked-Size headers as huggingface_hub does; an interrupted transfer resumes
// where it stopped, within the call and in a later one.
package hub

import (
	"fmt"
	"regexp"
	"strings"
)

// DefaultRevision is the revision of an id that names none.
const DefaultRevision = "main"

// ID is a parsed model id.
type ID struct {
	// Repo is "org/name" (or a bare "name", the hub's older form).
	Repo string
	// Revision is a branch, a tag or a commit hash ("main" when the id names none).
	Revision string
}

// String is the id as ParseID reads it: "org/name@revision", without the revision when it is "main".
func (id ID) String() string {
	if id.Revision == DefaultRevision {
		return id.Repo
	}
	return id.Repo + "@" + id.Revision
}

var (
	repoPattern   = regexp.MustCompile(`^([A-Za-z0-9_.\-]+/)?[A-Za-z0-9_.\-]+$`)
	commitPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// ParseID reads "org/name" or "org/name@revision" and checks it as huggingface_hub's
// validate_repo_id does: letters, digits, '-', '_' and '.', no "--" or "..", no leading or trailing
// '-' or '.', at most 96 characters.
func ParseID(s string) (ID, error) {
	repo, rev, hasRev := strings.Cut(s, "@")
	if hasRev && rev == "" {
		return ID{}, fmt.Errorf("model id %q: empty revision after '@'", s)
	}
	if !hasRev {
		rev = DefaultRevision
	}
	if err := checkRepo(repo); err != nil {
		return ID{}, fmt.Errorf("model id %q: %w", s, err)
	}
	if strings.Contains(rev, "..") || strings.HasPrefix(rev, "/") || strings.HasSuffix(rev, "/") {
		return ID{}, fmt.Errorf("model id %q: invalid revision %q", s, rev)
	}
	return ID{Repo: repo, Revision: rev}, nil
}

func checkRepo(repo string) error {
	switch {
	case repo == "":
		return fmt.Errorf("empty repository name")
	case len(repo) > 96:
		return fmt.Errorf("repository name longer than 96 characters")
	case !repoPattern.MatchString(repo):
		return fmt.Errorf("repository name %q: want org/name of letters, digits, '-', '_' and '.'", repo)
	case strings.Contains(repo, "--") || strings.Contains(repo, ".."):
		return fmt.Errorf("repository name %q may not contain \"--\" or \"..\"", repo)
	case strings.HasSuffix(repo, ".git"):
		return fmt.Errorf("repository name %q may not end in .git", repo)
	}
	for _, part := range strings.Split(repo, "/") {
		if strings.HasPrefix(part, "-") || strings.HasPrefix(part, ".") || strings.HasSuffix(part, "-") || strings.HasSuffix(part, ".") {
			return fmt.Errorf("repository name %q: a part may not start or end with '-' or '.'", repo)
		}
	}
	return nil
}

// LooksLikeID reports whether s has the form "org/name[@revision]" of a hub id. Callers that also
// accept folders check for a folder first, as transformers' from_pretrained does.
func LooksLikeID(s string) bool {
	id, err := ParseID(s)
	return err == nil && strings.Contains(id.Repo, "/")
}

// IsCommit reports whether rev is a full commit hash (40 lowercase hex digits).
func IsCommit(rev string) bool { return commitPattern.MatchString(rev) }

// folderName is the repository's folder in the cache: "models--org--name".
func folderName(repo string) string {
	return "models--" + strings.ReplaceAll(repo, "/", "--")
}
