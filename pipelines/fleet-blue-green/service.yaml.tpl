# The live Service. Its version label decides which colour gets the traffic;
# the pipeline creates it only on the first release (var.initial) and
# afterwards only switches its selector.
apiVersion: v1
kind: Service
metadata:
  name: ${app}
  labels:
    app: ${app}
spec:
  selector:
    app: ${app}
    version: ${version}
  ports:
    - port: 80
      targetPort: 8080
      protocol: TCP
