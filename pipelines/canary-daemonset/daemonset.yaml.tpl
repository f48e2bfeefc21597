# A node agent as a DaemonSet. updateStrategy OnDelete: applying a new
# template replaces no pod; the update_nodes stages replace them, node by
# node. It tolerates every taint, as node agents do.
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: ${app}
  labels:
    app: ${app}
spec:
  selector:
    matchLabels:
      app: ${app}
  updateStrategy:
    type: OnDelete
  template:
    metadata:
      labels:
        app: ${app}
        version: ${version}
      annotations: ${jsonencode(pod_annotations)}
    spec:
      nodeSelector: ${jsonencode(node_selector)}
      tolerations:
        - operator: Exists
      terminationGracePeriodSeconds: 30
      containers:
        - name: ${app}
          image: ${image}:${version}
          ports:
            - containerPort: 8080
          readinessProbe:
            httpGet:
              path: /healthz
              port: 8080
            periodSeconds: 2
          lifecycle:
            preStop:
              exec:
                command: ["sleep", "5"]
