# The VirtualService of the application, created on the first release with
# the stable Service as its only destination. The traffic stages add the
# canary Service next to it with a weight, and a route first in the list
# that sends requests carrying the A/B header to the canary only.
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ${app}
  labels:
    app: ${app}
spec:
  hosts:
    - ${host}
  gateways:
    - ${gateway}
  http:
    - name: primary
      route:
        - destination:
            host: ${app}
            port:
              number: 80
