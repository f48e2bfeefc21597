# The Service selects the app only, not the version: every version's Ready
# pods get a share of the requests in proportion to their number (seed 002).
apiVersion: v1
kind: Service
metadata:
  name: ${app}
  labels:
    app: ${app}
spec:
  selector:
    app: ${app}
  ports:
    - port: 80
      targetPort: 8080
      protocol: TCP
