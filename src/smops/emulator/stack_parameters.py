"""DescribeStacks' parameter values as CloudFormation gives them back.

moto 5.2.5 answers a CommaDelimitedList parameter with its Python list's repr ("['churn']");
CloudFormation gives back the string it was given ("churn", "staging,production"), which is what
`smops doctor` compares the starters with.
"""

from __future__ import annotations


def patch(stack_class) -> None:
    listed = stack_class.parameter_list.fget

    def parameter_list(self):
        return [
            {**parameter, "ParameterValue": ",".join(parameter["ParameterValue"])}
            if isinstance(parameter["ParameterValue"], list)
            else parameter
            for parameter in listed(self)
        ]

    stack_class.parameter_list = property(parameter_list)
