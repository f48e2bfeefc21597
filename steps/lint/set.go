package lint

// set is all the objects linted together, with the cross-object facts the
// rules share: which Services select which pod templates, which HPA scales
// which workload.
type set struct {
	objs       []*object
	selectedBy map[*object][]*object // workload -> Services whose selector matches its pods
	hpaOf      map[*object]*object   // workload -> the HorizontalPodAutoscaler targeting it
}

func (s *set) index() {
	s.selectedBy = map[*object][]*object{}
	s.hpaOf = map[*object]*object{}
	for _, svc := range s.objs {
		if svc.kind != "Service" {
			continue
		}
		for _, w := range s.selected(svc) {
			s.selectedBy[w] = append(s.selectedBy[w], svc)
		}
	}
	for _, h := range s.objs {
		if h.kind != "HorizontalPodAutoscaler" {
			continue
		}
		ref := path(h.node, "spec", "scaleTargetRef")
		for _, w := range s.objs {
			if w.kind == str(path(ref, "kind")) && w.name == str(path(ref, "name")) && sameNamespace(h, w) {
				s.hpaOf[w] = h
			}
		}
	}
}

// selected returns the workloads whose pod template labels carry every
// label of the Service's selector. A Service without a selector (external
// endpoints) selects nothing.
func (s *set) selected(svc *object) []*object {
	sel := stringMap(path(svc.node, "spec", "selector"))
	if len(sel) == 0 {
		return nil
	}
	var out []*object
	for _, w := range s.objs {
		if w.template == nil || w.kind == "Job" || w.kind == "CronJob" || !sameNamespace(svc, w) {
			continue
		}
		if matches(sel, w.template.labels) {
			out = append(out, w)
		}
	}
	return out
}

func matches(sel, labels map[string]string) bool {
	for k, v := range sel {
		if lv, ok := labels[k]; !ok || lv != v {
			return false
		}
	}
	return true
}

// sameNamespace treats an unset namespace as "wherever the pipeline
// deploys", which is where the other object goes too unless it names one.
func sameNamespace(a, b *object) bool {
	return a.namespace == "" || b.namespace == "" || a.namespace == b.namespace
}

// workloads are the objects that serve long-running pods, the ones the
// availability rules concern (Jobs finish; probes mean nothing to them).
func (s *set) workloads() []*object {
	var out []*object
	for _, o := range s.objs {
		if o.template != nil && o.kind != "Job" && o.kind != "CronJob" {
			out = append(out, o)
		}
	}
	return out
}
