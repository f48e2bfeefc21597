package kube

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/cutoverhq/cutover/internal/words"
)

// partitionedStatus is where a partitioned rollout of a StatefulSet stands
// once its pods are all ready: the pods with an ordinal at or above the
// partition get the update revision, the others keep the current one. It
// is done when every pod is at one of the two (none being replaced: a pod
// terminating or not yet re-created is in neither count) and the pods at
// or above the partition are updated. Its lines count pods by the revision
// they run, as the status does, so that one shown at the end of an undo
// (partition back above every ordinal, the pods re-created at the current
// revision) names that revision, not the update's.
func partitionedStatus(name string, want, partition int32, st appsv1.StatefulSetStatus) (bool, string, error) {
	above := max(want-partition, 0) // the ordinals at or above the partition
	switch {
	case st.UpdatedReplicas < above:
		return false, fmt.Sprintf("%s: %d of %s at or above partition %d at update revision %s", name, st.UpdatedReplicas, words.Count(int(above), "pod"), partition, st.UpdateRevision), nil
	case st.UpdateRevision == st.CurrentRevision:
		// Nothing held back: every pod runs the one revision.
		return true, fmt.Sprintf("%s: %s ready at revision %s (partition %d, no update pending)", name, words.Count(int(st.ReadyReplicas), "pod"), st.CurrentRevision, partition), nil
	case st.CurrentReplicas+st.UpdatedReplicas < want:
		return false, fmt.Sprintf("%s: %d pods at %s, %d at %s, of %d: waiting for the others", name, st.CurrentReplicas, st.CurrentRevision, st.UpdatedReplicas, st.UpdateRevision, want), nil
	}
	return true, fmt.Sprintf("%s: partitioned rollout done (partition %d, %s at or above it): %d at update revision %s, %d at current revision %s, %d ready",
		name, partition, words.Count(int(above), "pod"), st.UpdatedReplicas, st.UpdateRevision, st.CurrentReplicas, st.CurrentRevision, st.ReadyReplicas), nil
}
