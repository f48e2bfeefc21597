# The application as a StatefulSet behind a headless Service. The rolling
# update's partition is the replica count: applying a new template updates
# no pod until a partition step lowers it.
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ${app}
  labels:
    app: ${app}
spec:
  serviceName: ${app}
  replicas: ${replicas}
  selector:
    matchLabels:
      app: ${app}
  updateStrategy:
    type: RollingUpdate
    rollingUpdate:
      partition: ${replicas}
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
---
apiVersion: v1
kind: Service
metadata:
  name: ${app}
  labels:
    app: ${app}
spec:
  clusterIP: None
  selector:
    app: ${app}
  ports:
    - port: 8080
      targetPort: 8080
      protocol: TCP
