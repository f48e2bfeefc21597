# The Service selects only the traffic label (seed 001: createBy), so it
# sends to whichever server group carries it. Created on the first release.
apiVersion: v1
kind: Service
metadata:
  name: ${app}
  labels:
    app: ${app}
spec:
  selector: ${jsonencode(selector)}
  ports:
    - port: 80
      targetPort: 8080
      protocol: TCP
