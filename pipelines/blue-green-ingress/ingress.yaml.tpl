# The entry point. Created on the first release (var.initial) pointing at
# that version's Service; afterwards the pipeline only switches its backend.
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${app}
  labels:
    app: ${app}
spec:
%{ if ingress_class != "" ~}
  ingressClassName: ${ingress_class}
%{ endif ~}
  rules:
    - host: ${host}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: ${app}-${version}
                port:
                  number: 80
