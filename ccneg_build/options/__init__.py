"""The option groups of ``ccneg-build``: each declares its flags, its settings object and its
checks, below :mod:`ccneg_build.config`, which composes them, and below the parts that read
them (negators, images, the visual check), so no part imports the config that imports it.

* :mod:`.flags`   the vocabulary every group declares its flags in (``FlagSpec``, ``ConfigError``);
* :mod:`.llm`     ``--model``, ``--base-url``, rates, retries, prices, the prompt version;
* :mod:`.images`  ``--images download`` settings and the image reason codes;
* :mod:`.visual`  ``--verify-visual`` settings and its reason codes.
"""
