# One server group of the application, as CODING CD makes them (seed 001):
# a bare ReplicaSet ${app}-${version}, no Deployment above it. Its pods do
# NOT carry the traffic label yet: the pipeline adds it once they are Ready,
# and the Service selects on it.
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: ${app}-${version}
  labels:
    app: ${app}
    version: ${version}
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      app: ${app}
      version: ${version}
  template:
    metadata:
      labels:
        app: ${app}
        version: ${version}
      annotations: ${jsonencode(pod_annotations)}
    spec:
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
